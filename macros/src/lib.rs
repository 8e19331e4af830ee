//! `#[ravel::main]` and `#[ravel::test]`: an `async fn` run on a Ravel
//! runtime built for it. Use them through the `ravel` crate, which
//! re-exports both; the expansion refers to `::ravel`.
//!
//! ```
//! #[ravel::main]
//! async fn main() -> ravel::Result<()> {
//!     let task = ravel::spawn(async { Ok(21) });
//!     assert_eq!(task.await? * 2, 42);
//!     Ok(())
//! }
//! ```
//!
//! Options, comma-separated, for both attributes:
//!
//! * `flavor = "multi_thread"` (the default of `main`) or
//!   `flavor = "current_thread"` (the default of `test`);
//! * `worker_threads = N` (multi-thread flavour only);
//! * `eager_tasks` (or `eager_tasks = true`/`false`): asyncio's eager task
//!   factory, `Builder::eager_tasks`.
//!
//! The function runs as `Runtime::run` runs its main task (asyncio `run`):
//! a task named `"main"`; when it ends, tasks still alive are cancelled and
//! awaited; a panic of the function resumes in the caller. On the
//! current-thread flavour the body need not be `Send` (it runs through
//! `Runtime::run_local`), so `Rc`/`RefCell` state may live in it. The
//! function returns `()` or a `ravel::Result<T>`; a `main` returning `()`
//! whose task still ends with an error (Ctrl-C, a cancellation) exits with
//! status 1 after printing it, as a `main` returning that error would, and
//! such a test fails.
#![warn(missing_docs)]

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ItemFn, Lit, LitBool, Meta, ReturnType, Token, Type};

/// Runs an `async fn main` on a new Ravel runtime, as `ravel::run` does:
/// multi-thread by default, with the options described in the crate docs.
///
/// ```
/// #[ravel::main(flavor = "current_thread")]
/// async fn main() {
///     let shared = std::rc::Rc::new(std::cell::RefCell::new(0)); // a non-Send root is fine here
///     ravel::yield_now().await.ok();
///     *shared.borrow_mut() += 1;
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_or_error(Kind::Main, args.into(), item.into()).into()
}

/// Runs an `async fn` test on a new Ravel runtime (current-thread by
/// default), as `#[test]`; a panic in it (a failed `assert!`) fails the
/// test, and a returned `Err` does too.
///
/// ```
/// #[ravel::test]
/// async fn sleeps() -> ravel::Result<()> {
///     ravel::sleep(std::time::Duration::from_millis(1)).await
/// }
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_or_error(Kind::Test, args.into(), item.into()).into()
}

/// The expansion, or the error plus a plain `fn` of the same name, so that
/// the error is the only one reported (no "`main` function not found").
fn expand_or_error(kind: Kind, args: TokenStream2, item: TokenStream2) -> TokenStream2 {
    match expand(kind, args, item.clone()) {
        Ok(out) => out,
        Err(e) => {
            let error = e.into_compile_error();
            match syn::parse2::<ItemFn>(item) {
                Ok(f) => {
                    let (vis, ident) = (&f.vis, &f.sig.ident);
                    quote! { #error #[allow(dead_code)] #vis fn #ident() {} }
                }
                Err(_) => error,
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Main,
    Test,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Main => "#[ravel::main]",
            Kind::Test => "#[ravel::test]",
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Flavor {
    CurrentThread,
    MultiThread,
}

struct Options {
    flavor: Flavor,
    worker_threads: Option<(usize, Span)>,
    eager_tasks: bool,
}

fn parse_options(kind: Kind, args: TokenStream2) -> syn::Result<Options> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    let mut flavor = None;
    let mut worker_threads = None;
    let mut eager_tasks = None;
    for meta in metas {
        let key = meta.path().get_ident().map(|i| i.to_string()).unwrap_or_default();
        match key.as_str() {
            "flavor" => {
                let lit = string_value(&meta, "flavor = \"current_thread\" or flavor = \"multi_thread\"")?;
                let value = match lit.value().as_str() {
                    "current_thread" => Flavor::CurrentThread,
                    "multi_thread" => Flavor::MultiThread,
                    other => {
                        return Err(syn::Error::new(
                            lit.span(),
                            format!("unknown flavor `{other}`; expected \"current_thread\" or \"multi_thread\""),
                        ))
                    }
                };
                set_once(&mut flavor, value, &meta, "flavor")?;
            }
            "worker_threads" => {
                let value = match value_of(&meta) {
                    Some(Expr::Lit(ExprLit { lit: Lit::Int(int), .. })) => int.base10_parse::<usize>()?,
                    _ => return Err(syn::Error::new(meta.span(), "expected `worker_threads = N`, N an integer")),
                };
                if value == 0 {
                    return Err(syn::Error::new(meta.span(), "`worker_threads` must be at least 1"));
                }
                set_once(&mut worker_threads, (value, meta.span()), &meta, "worker_threads")?;
            }
            "eager_tasks" => {
                let value = match &meta {
                    Meta::Path(_) => true,
                    _ => match value_of(&meta) {
                        Some(Expr::Lit(ExprLit { lit: Lit::Bool(LitBool { value, .. }), .. })) => *value,
                        _ => {
                            return Err(syn::Error::new(
                                meta.span(),
                                "expected `eager_tasks`, `eager_tasks = true` or `eager_tasks = false`",
                            ))
                        }
                    },
                };
                set_once(&mut eager_tasks, value, &meta, "eager_tasks")?;
            }
            _ => {
                return Err(syn::Error::new(
                    meta.path().span(),
                    format!(
                        "unknown option `{}` of {}; expected `flavor`, `worker_threads` or `eager_tasks`",
                        meta.path().to_token_stream().to_string().replace(' ', ""),
                        kind.name()
                    ),
                ))
            }
        }
    }
    let flavor = flavor.unwrap_or(match kind {
        Kind::Main => Flavor::MultiThread,
        Kind::Test => Flavor::CurrentThread,
    });
    if let (Flavor::CurrentThread, Some((_, span))) = (flavor, worker_threads) {
        return Err(syn::Error::new(
            span,
            "`worker_threads` needs `flavor = \"multi_thread\"`: the current-thread flavour runs on the calling thread",
        ));
    }
    Ok(Options { flavor, worker_threads, eager_tasks: eager_tasks.unwrap_or(false) })
}

fn value_of(meta: &Meta) -> Option<&Expr> {
    match meta {
        Meta::NameValue(nv) => Some(&nv.value),
        _ => None,
    }
}

fn string_value(meta: &Meta, expected: &str) -> syn::Result<syn::LitStr> {
    match value_of(meta) {
        Some(Expr::Lit(ExprLit { lit: Lit::Str(s), .. })) => Ok(s.clone()),
        _ => Err(syn::Error::new(meta.span(), format!("expected {expected}"))),
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T, meta: &Meta, name: &str) -> syn::Result<()> {
    if slot.replace(value).is_some() {
        return Err(syn::Error::new(meta.span(), format!("`{name}` is given more than once")));
    }
    Ok(())
}

/// Whether `ty` is `()`.
fn is_unit(ty: &Type) -> bool {
    matches!(ty, Type::Tuple(t) if t.elems.is_empty())
}

/// Whether `ty` names a `Result` (`ravel::Result<T>`, `Result<T, E>`);
/// anything else cannot be what `Runtime::run` returns.
fn is_result(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Result"))
}

fn expand(kind: Kind, args: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let options = parse_options(kind, args)?;
    let mut input: ItemFn = syn::parse2(item)?;
    let sig = &input.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span(),
            format!("the `async` keyword is missing from the function declaration: {} runs an `async fn`", kind.name()),
        ));
    }
    if !sig.inputs.is_empty() {
        return Err(syn::Error::new(sig.inputs.span(), format!("{} functions take no arguments", kind.name())));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new(sig.generics.span(), format!("{} functions cannot be generic", kind.name())));
    }
    if kind == Kind::Test {
        if let Some(attr) = input.attrs.iter().find(|a| a.path().is_ident("test")) {
            return Err(syn::Error::new(
                attr.span(),
                "a second #[test] attribute is supplied: #[ravel::test] already makes the function a test",
            ));
        }
    }
    let unit = match &sig.output {
        ReturnType::Default => true,
        ReturnType::Type(_, ty) if is_unit(ty) => true,
        ReturnType::Type(_, ty) if is_result(ty) => false,
        ReturnType::Type(_, ty) => {
            return Err(syn::Error::new(
                ty.span(),
                format!("{} functions return `()` or `ravel::Result<T>`", kind.name()),
            ))
        }
    };

    let mut builder = match options.flavor {
        Flavor::CurrentThread => quote! { ::ravel::Builder::new_current_thread() },
        Flavor::MultiThread => quote! { ::ravel::Builder::new_multi_thread() },
    };
    if let Some((n, span)) = options.worker_threads {
        builder = quote_spanned! { span=> #builder.worker_threads(#n) };
    }
    if options.eager_tasks {
        builder = quote! { #builder.eager_tasks(true) };
    }
    let body = &input.block;
    let span = body.span();
    let future = if unit {
        quote_spanned! { span=>
            async move {
                let () = async move #body.await;
                ::core::result::Result::<(), ::ravel::Error>::Ok(())
            }
        }
    } else {
        quote_spanned! { span=> async move #body }
    };
    let run = match options.flavor {
        Flavor::CurrentThread => quote! { ::ravel::__private::run_local },
        Flavor::MultiThread => quote! { ::ravel::__private::run },
    };
    let call = if unit {
        // `()`: main can still end with an error (Ctrl-C, a cancellation).
        let finish = match kind {
            Kind::Main => quote! { ::ravel::__private::finish_main },
            Kind::Test => quote! { ::ravel::__private::finish_test },
        };
        quote! { #finish(#run(#builder, #future)) }
    } else {
        quote! { #run(#builder, #future) }
    };
    input.sig.asyncness = None;
    let test_attr = (kind == Kind::Test).then(|| quote! { #[::core::prelude::v1::test] });
    let attrs = &input.attrs;
    let vis = &input.vis;
    let sig = &input.sig;
    Ok(quote! {
        #test_attr
        #(#attrs)*
        #vis #sig {
            #call
        }
    })
}
