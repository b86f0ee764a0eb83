//! A current-thread `main` returning a `Result`: `?` converts errors as in a plain `main`.

#[derive(Debug)]
struct AppError;

impl From<std::num::ParseIntError> for AppError {
    fn from(_: std::num::ParseIntError) -> Self {
        AppError
    }
}

#[nimsync::main(flavor = "current_thread")]
async fn main() -> Result<(), AppError> {
    let n: u32 = "7".parse()?;
    let doubled = nimsync::spawn(async move { n * 2 }).await.unwrap();
    assert_eq!(doubled, 14);
    Ok(())
}
