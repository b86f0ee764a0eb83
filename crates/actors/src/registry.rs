//! The named registry: find a live actor by name, typed.

use core::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::cell::Cell;
use crate::{Actor, ActorId, ActorRef, RegistryError, WeakActorRef};

struct Entry {
    cell: Arc<Cell>,
    /// A `WeakActorRef<A>`: the registry never keeps an actor alive.
    weak: Box<dyn Any + Send + Sync>,
}

fn table() -> MutexGuard<'static, HashMap<String, Entry>> {
    static TABLE: OnceLock<Mutex<HashMap<String, Entry>>> = OnceLock::new();
    TABLE
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Registers `actor` under `name`; the name is released when the actor stops for good.
/// A name held by a live actor cannot be taken ([`RegistryError::NameTaken`]).
///
/// ```
/// use nimsync_actors::{Actor, Context, RegistryError, lookup, register, spawn_actor};
/// struct Db;
/// impl Actor for Db { type Msg = (); async fn handle(&mut self, _: (), _: &mut Context<Self>) {} }
/// struct Other;
/// impl Actor for Other { type Msg = (); async fn handle(&mut self, _: (), _: &mut Context<Self>) {} }
///
/// nimsync_scheduler::block_on(async {
///     let db = spawn_actor(Db);
///     register("doc-db", &db).unwrap();
///     assert_eq!(lookup::<Db>("doc-db").unwrap(), db);
///     assert!(matches!(lookup::<Other>("doc-db"), Err(RegistryError::WrongType { .. })));
///     assert!(matches!(register("doc-db", &spawn_actor(Db)), Err(RegistryError::NameTaken(_))));
///     db.stop_and_wait().await;
///     assert!(matches!(lookup::<Db>("doc-db"), Err(RegistryError::NotFound(_))));
/// });
/// ```
pub fn register<A: Actor>(
    name: impl Into<String>,
    actor: &ActorRef<A>,
) -> Result<(), RegistryError> {
    let name = name.into();
    let mut t = table();
    if let Some(e) = t.get(&name)
        && e.cell.is_alive()
    {
        return Err(RegistryError::NameTaken(name));
    }
    let cell = actor.cell().clone();
    if !cell.add_name(&name) {
        // Stopped meanwhile: nothing to register.
        return Err(RegistryError::NotFound(name));
    }
    t.insert(
        name,
        Entry {
            cell,
            weak: Box::new(actor.downgrade()),
        },
    );
    Ok(())
}

/// The live actor registered as `name`, typed.
pub fn lookup<A: Actor>(name: &str) -> Result<ActorRef<A>, RegistryError> {
    let t = table();
    let e = t
        .get(name)
        .filter(|e| e.cell.is_alive())
        .ok_or_else(|| RegistryError::NotFound(name.to_owned()))?;
    let weak =
        e.weak
            .downcast_ref::<WeakActorRef<A>>()
            .ok_or_else(|| RegistryError::WrongType {
                name: name.to_owned(),
                expected: core::any::type_name::<A>(),
                found: e.cell.type_name,
            })?;
    weak.upgrade()
        .ok_or_else(|| RegistryError::NotFound(name.to_owned()))
}

/// Removes `name` from the registry; `true` if it was there.
///
/// ```
/// assert!(!nimsync_actors::unregister("never-registered"));
/// ```
pub fn unregister(name: &str) -> bool {
    table().remove(name).is_some()
}

/// Removes `name` if it still belongs to `id` (called when that actor stops).
pub(crate) fn remove_if(name: &str, id: ActorId) {
    let mut t = table();
    if t.get(name).is_some_and(|e| e.cell.id == id) {
        t.remove(name);
    }
}
