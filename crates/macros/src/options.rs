//! The options inside `#[nimsync::main(...)]` / `#[nimsync::test(...)]`: parsed and checked
//! here, with every error pointing at the option that caused it.

use proc_macro2::Span;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, Meta, Token};

/// Which runtime the macro builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `Builder::new_current_thread()`: tasks run on the thread that calls `block_on`.
    CurrentThread,
    /// `Builder::new_multi_thread()`: a work-stealing pool of worker threads.
    MultiThread,
}

impl Flavor {
    fn parse(name: &str) -> Option<Flavor> {
        match name {
            "current_thread" => Some(Flavor::CurrentThread),
            "multi_thread" => Some(Flavor::MultiThread),
            _ => None,
        }
    }
}

/// The checked options of one attribute.
#[derive(Clone)]
pub(crate) struct Options {
    /// The runtime flavour (explicit, or the macro's default).
    pub(crate) flavor: Flavor,
    /// `workers = N` (multi-thread only), with the span of the number.
    pub(crate) workers: Option<(usize, Span)>,
    /// Path of the nimsync facade (`crate = "..."`, default `::nimsync`).
    pub(crate) krate: syn::Path,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let krate = &self.krate;
        f.debug_struct("Options")
            .field("flavor", &self.flavor)
            .field("workers", &self.workers.map(|(n, _)| n))
            .field("krate", &quote::quote!(#krate).to_string())
            .finish()
    }
}

/// What the options are for: the default flavour and the attribute's name in messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kind {
    /// `"main"` or `"test"`.
    pub(crate) name: &'static str,
    /// Flavour when the user gives none.
    pub(crate) default_flavor: Flavor,
}

/// `#[nimsync::main]`: a multi-threaded runtime unless told otherwise.
pub(crate) const MAIN: Kind = Kind {
    name: "main",
    default_flavor: Flavor::MultiThread,
};

/// `#[nimsync::test]`: a current-thread runtime unless told otherwise (as tokio does), so a
/// test is deterministic and starts no threads by default.
pub(crate) const TEST: Kind = Kind {
    name: "test",
    default_flavor: Flavor::CurrentThread,
};

const KNOWN: &str = "expected `workers = N`, `flavor = \"current_thread\"` / `\"multi_thread\"` \
                     or `crate = \"path\"`";

/// Parses and checks the attribute's arguments.
pub(crate) fn parse(kind: Kind, args: proc_macro2::TokenStream) -> syn::Result<Options> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    let mut flavor: Option<(Flavor, Span)> = None;
    let mut workers: Option<(usize, Span)> = None;
    let mut krate: Option<syn::Path> = None;
    for meta in metas {
        let nv = match meta {
            Meta::NameValue(nv) => nv,
            other => {
                let name = path_name(other.path());
                return Err(syn::Error::new(
                    other.span(),
                    format!("`{name}` needs a value (`name = value`); {KNOWN}"),
                ));
            }
        };
        let name = path_name(&nv.path);
        match name.as_str() {
            "workers" => {
                if workers.is_some() {
                    return Err(duplicate(&nv.path, &name));
                }
                workers = Some(parse_workers(&nv.value)?);
            }
            "flavor" => {
                if flavor.is_some() {
                    return Err(duplicate(&nv.path, &name));
                }
                let (text, span) = string_value(&nv.value, "flavor")?;
                let parsed = Flavor::parse(&text).ok_or_else(|| {
                    syn::Error::new(
                        span,
                        format!(
                            "unknown flavor \"{text}\"; expected \"current_thread\" or \"multi_thread\""
                        ),
                    )
                })?;
                flavor = Some((parsed, span));
            }
            "crate" => {
                if krate.is_some() {
                    return Err(duplicate(&nv.path, &name));
                }
                let (text, span) = string_value(&nv.value, "crate")?;
                let path = syn::parse_str::<syn::Path>(&text).map_err(|_| {
                    syn::Error::new(span, format!("`crate` expects a path, got \"{text}\""))
                })?;
                krate = Some(path);
            }
            _ => {
                return Err(syn::Error::new(
                    nv.path.span(),
                    format!("unknown option `{name}`; {KNOWN}"),
                ));
            }
        }
    }
    let flavor_given = flavor.map(|(f, _)| f);
    let flavor = flavor_given.unwrap_or(kind.default_flavor);
    if let (Flavor::CurrentThread, Some((_, span))) = (flavor, workers) {
        let why = if flavor_given.is_some() {
            "`workers` cannot be used with flavor = \"current_thread\" (it runs every task on \
             the calling thread); remove `workers` or use flavor = \"multi_thread\""
                .to_string()
        } else {
            format!(
                "`workers` needs a multi-threaded runtime, and `#[nimsync::{}]` defaults to \
                 flavor = \"current_thread\"; add flavor = \"multi_thread\"",
                kind.name
            )
        };
        return Err(syn::Error::new(span, why));
    }
    Ok(Options {
        flavor,
        workers,
        krate: krate.unwrap_or_else(|| syn::parse_quote!(::nimsync)),
    })
}

fn path_name(path: &syn::Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

fn duplicate(path: &syn::Path, name: &str) -> syn::Error {
    syn::Error::new(
        path.span(),
        format!("option `{name}` is given more than once"),
    )
}

fn parse_workers(value: &Expr) -> syn::Result<(usize, Span)> {
    let Expr::Lit(ExprLit {
        lit: Lit::Int(int), ..
    }) = value
    else {
        return Err(syn::Error::new(
            value.span(),
            "`workers` expects an integer literal, e.g. `workers = 4`",
        ));
    };
    let n: usize = int
        .base10_parse()
        .map_err(|_| syn::Error::new(int.span(), "`workers` expects a number of threads"))?;
    if n == 0 {
        return Err(syn::Error::new(
            int.span(),
            "`workers` must be at least 1 (a multi-threaded runtime needs a worker thread; \
             for none, use flavor = \"current_thread\")",
        ));
    }
    Ok((n, int.span()))
}

fn string_value(value: &Expr, option: &str) -> syn::Result<(String, Span)> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok((s.value(), s.span())),
        other => Err(syn::Error::new(
            other.span(),
            format!("`{option}` expects a string literal, e.g. `{option} = \"...\"`"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn err(kind: Kind, args: proc_macro2::TokenStream) -> String {
        parse(kind, args).unwrap_err().to_string()
    }

    #[test]
    fn defaults_depend_on_the_macro() {
        let main = parse(MAIN, quote!()).unwrap();
        assert_eq!(main.flavor, Flavor::MultiThread);
        assert!(main.workers.is_none());
        let test = parse(TEST, quote!()).unwrap();
        assert_eq!(test.flavor, Flavor::CurrentThread);
        let krate = &test.krate;
        assert_eq!(quote!(#krate).to_string(), ":: nimsync");
    }

    #[test]
    fn every_option_parses() {
        let o = parse(
            MAIN,
            quote!(workers = 3, flavor = "multi_thread", crate = "my::ns"),
        )
        .unwrap();
        assert_eq!(o.flavor, Flavor::MultiThread);
        assert_eq!(o.workers.map(|(n, _)| n), Some(3));
        let krate = &o.krate;
        assert_eq!(quote!(#krate).to_string(), "my :: ns");
        let o = parse(TEST, quote!(flavor = "multi_thread", workers = 2)).unwrap();
        assert_eq!(
            (o.flavor, o.workers.map(|(n, _)| n)),
            (Flavor::MultiThread, Some(2))
        );
        let o = parse(MAIN, quote!(flavor = "current_thread",)).unwrap();
        assert_eq!(o.flavor, Flavor::CurrentThread);
    }

    #[test]
    fn misuse_is_explained() {
        assert!(err(MAIN, quote!(threads = 2)).contains("unknown option `threads`"));
        assert!(err(MAIN, quote!(workers = 0)).contains("at least 1"));
        assert!(err(MAIN, quote!(workers = "2")).contains("integer literal"));
        assert!(err(MAIN, quote!(workers)).contains("needs a value"));
        assert!(err(MAIN, quote!(flavor = "single")).contains("unknown flavor \"single\""));
        assert!(err(MAIN, quote!(flavor = current_thread)).contains("string literal"));
        assert!(err(MAIN, quote!(workers = 1, workers = 2)).contains("more than once"));
        assert!(err(MAIN, quote!(crate = "not a path")).contains("expects a path"));
        assert!(
            err(MAIN, quote!(flavor = "current_thread", workers = 2))
                .contains("cannot be used with flavor = \"current_thread\"")
        );
        // A test defaults to current_thread: say so rather than blame a flavor not written.
        assert!(err(TEST, quote!(workers = 2)).contains("defaults to flavor = \"current_thread\""));
    }
}
