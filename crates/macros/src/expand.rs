//! Checks the annotated function and writes the synchronous function that builds a runtime
//! and blocks on the original body.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::spanned::Spanned;
use syn::{ItemFn, ReturnType};

use crate::options::{self, Flavor, Kind, Options};

/// Expands `#[nimsync::main]` / `#[nimsync::test]` (`kind` says which) on `item`.
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let msg = format!("`#[nimsync::{}]` goes on an `async fn`", kind.name);
            let err = syn::Error::new(item.span(), msg).to_compile_error();
            return quote!(#err #item);
        }
    };
    let checked = options::parse(kind, args).and_then(|opts| {
        check_signature(kind, &func)?;
        Ok(opts)
    });
    match checked {
        Ok(opts) => rewrite(kind, &opts, func),
        Err(e) => fallback(e, func),
    }
}

/// Rejects what cannot become a plain `fn()`: a non-async fn, arguments, generics, and (for
/// tests) a second `#[test]`.
fn check_signature(kind: Kind, func: &ItemFn) -> syn::Result<()> {
    let sig = &func.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span,
            format!(
                "the `async` keyword is missing from the function declaration: \
                 `#[nimsync::{}]` runs an `async fn` on a runtime",
                kind.name
            ),
        ));
    }
    if !sig.inputs.is_empty() {
        let what = if kind.name == "main" {
            "the `main` function takes no arguments (read them with `std::env::args()`)"
        } else {
            "a test function takes no arguments"
        };
        return Err(syn::Error::new_spanned(
            &sig.inputs,
            format!("`#[nimsync::{}]`: {what}", kind.name),
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            format!("`#[nimsync::{}]` functions cannot be generic", kind.name),
        ));
    }
    if kind.name == "test"
        && let Some(attr) = func.attrs.iter().find(|a| a.path().is_ident("test"))
    {
        return Err(syn::Error::new_spanned(
            attr,
            "`#[nimsync::test]` already marks the function as a test; remove this `#[test]`",
        ));
    }
    Ok(())
}

/// The runtime builder expression for the options.
fn builder(opts: &Options) -> TokenStream {
    let krate = &opts.krate;
    match (opts.flavor, opts.workers) {
        (Flavor::CurrentThread, _) => quote!(#krate::scheduler::Builder::new_current_thread()),
        (Flavor::MultiThread, None) => quote!(#krate::scheduler::Builder::new_multi_thread()),
        (Flavor::MultiThread, Some((n, _))) => {
            quote!(#krate::scheduler::Builder::new_multi_thread().workers(#n))
        }
    }
}

/// `async fn f() -> T { body }` becomes `fn f() -> T { <runtime>.block_on(async { body }) }`.
fn rewrite(kind: Kind, opts: &Options, mut func: ItemFn) -> TokenStream {
    let output = match &func.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    };
    let body = &func.block;
    let build = builder(opts);
    let expect = format!("#[nimsync::{}]: cannot build the runtime", kind.name);
    let new_body = quote!({
        let body = async #body;
        // Naming the output type lets `?` in the body infer its error conversion.
        let body: ::core::pin::Pin<&mut dyn ::core::future::Future<Output = #output>> =
            ::core::pin::pin!(body);
        #build.build().expect(#expect).block_on(body)
    });
    func.sig.asyncness = None;
    func.block = Box::new(syn::parse_quote!(#new_body));
    if kind.name == "test" {
        quote!(#[::core::prelude::v1::test] #func)
    } else {
        func.into_token_stream()
    }
}

/// On an error: the error plus a body-less stand-in of the function, so the compiler reports
/// only our message (not also "`main` function not found" or errors inside the body).
fn fallback(err: syn::Error, func: ItemFn) -> TokenStream {
    let err = err.to_compile_error();
    let ItemFn {
        attrs, vis, sig, ..
    } = func;
    let name = &sig.ident;
    let output = &sig.output;
    quote!(
        #err
        #(#attrs)*
        #vis fn #name() #output { ::core::unreachable!() }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{MAIN, TEST};

    fn expanded(kind: Kind, args: TokenStream, item: TokenStream) -> String {
        expand(kind, args, item).to_string()
    }

    #[test]
    fn main_blocks_on_a_multi_threaded_runtime() {
        let out = expanded(
            MAIN,
            quote!(workers = 2),
            quote!(
                async fn main() {
                    run().await
                }
            ),
        );
        assert!(out.contains("fn main ()"), "{out}");
        assert!(!out.contains("async fn"), "{out}");
        assert!(
            out.contains(
                ":: nimsync :: scheduler :: Builder :: new_multi_thread () . workers (2usize)"
            ),
            "{out}"
        );
        assert!(out.contains("block_on (body)"), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn test_adds_the_test_attribute_and_defaults_to_current_thread() {
        let out = expanded(
            TEST,
            quote!(),
            quote!(
                async fn works() -> Result<(), E> {
                    Ok(())
                }
            ),
        );
        assert!(
            out.starts_with("# [:: core :: prelude :: v1 :: test]"),
            "{out}"
        );
        assert!(out.contains("new_current_thread ()"), "{out}");
        assert!(out.contains("Output = Result < () , E >"), "{out}");
    }

    #[test]
    fn errors_come_with_a_stand_in() {
        let out = expanded(
            MAIN,
            quote!(),
            quote!(
                fn main() {}
            ),
        );
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("`async` keyword is missing"), "{out}");
        assert!(out.contains("unreachable"), "{out}");
        let out = expanded(
            MAIN,
            quote!(),
            quote!(
                async fn main(n: u32) {}
            ),
        );
        assert!(out.contains("takes no arguments"), "{out}");
        let out = expanded(
            TEST,
            quote!(),
            quote!(
                #[test]
                async fn t() {}
            ),
        );
        assert!(out.contains("remove this `#[test]`"), "{out}");
        let out = expanded(
            MAIN,
            quote!(),
            quote!(
                async fn main<T>() {}
            ),
        );
        assert!(out.contains("cannot be generic"), "{out}");
        let out = expanded(
            MAIN,
            quote!(),
            quote!(
                struct S;
            ),
        );
        assert!(out.contains("goes on an `async fn`"), "{out}");
    }
}
