//! # rmlx-macros
//!
//! `#[derive(Module)]` for rmlx: generates only a traversal of the struct's members (see
//! `rmlx_nn::Module`); every `nn.Module` method is library code over it.
//!
//! Field attributes: `#[module(skip)]` (not part of the tree), `#[module(hidden)]` (MLX's
//! `_`-prefixed members: not a parameter, but train/eval/freeze reach it), `#[module(rename =
//! "name")]` (the member's key). Struct attributes: `#[module(crate = "rmlx::nn")]` (path of the
//! nn crate, default `::rmlx_nn`), `#[module(name = "Class")]` (class name, default the struct
//! name), `#[module(extra_repr = "method")]` (a `fn(&self) -> String` giving the repr arguments),
//! `#[module(training_mode = "method")]` (a `fn(&mut self, bool)` run by `train`/`eval` after the
//! module's flag is set: MLX's `_set_training_mode` override).
//!
//! The struct must hold exactly one field whose type is `ModuleState`.
//!
//! Generic structs work: the impls carry the struct's generics, every type parameter gets a
//! `'static` bound (a `Module` is `Any`) and every member field whose type mentions a type
//! parameter gets a `FieldType: Member` bound, so `struct Wrap<M> { inner: M, state:
//! ModuleState }` is a module whenever `M` is one. A field whose type also names the struct
//! itself (a recursive module) gets no such bound: write it on the struct.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::{format_ident, quote};
use syn::{parse_macro_input, Data, DeriveInput, Fields, GenericParam, LitStr, Type};

#[derive(Default)]
struct FieldOpts {
    skip: bool,
    hidden: bool,
    rename: Option<String>,
}

#[derive(Default)]
struct StructOpts {
    krate: Option<syn::Path>,
    name: Option<String>,
    extra_repr: Option<syn::Ident>,
    training_mode: Option<syn::Ident>,
}

fn field_opts(attrs: &[syn::Attribute]) -> syn::Result<FieldOpts> {
    let mut o = FieldOpts::default();
    for a in attrs.iter().filter(|a| a.path().is_ident("module")) {
        a.parse_nested_meta(|meta| {
            if meta.path.is_ident("skip") {
                o.skip = true;
            } else if meta.path.is_ident("hidden") {
                o.hidden = true;
            } else if meta.path.is_ident("rename") {
                let s: LitStr = meta.value()?.parse()?;
                o.rename = Some(s.value());
            } else {
                return Err(meta.error("expected `skip`, `hidden` or `rename = \"…\"`"));
            }
            Ok(())
        })?;
    }
    Ok(o)
}

fn struct_opts(attrs: &[syn::Attribute]) -> syn::Result<StructOpts> {
    let mut o = StructOpts::default();
    for a in attrs.iter().filter(|a| a.path().is_ident("module")) {
        a.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let s: LitStr = meta.value()?.parse()?;
                o.krate = Some(s.parse()?);
            } else if meta.path.is_ident("name") {
                let s: LitStr = meta.value()?.parse()?;
                o.name = Some(s.value());
            } else if meta.path.is_ident("extra_repr") {
                let s: LitStr = meta.value()?.parse()?;
                o.extra_repr = Some(format_ident!("{}", s.value()));
            } else if meta.path.is_ident("training_mode") {
                let s: LitStr = meta.value()?.parse()?;
                o.training_mode = Some(format_ident!("{}", s.value()));
            } else {
                return Err(meta.error(
                    "expected `crate = \"…\"`, `name = \"…\"`, `extra_repr = \"…\"` or `training_mode = \"…\"`",
                ));
            }
            Ok(())
        })?;
    }
    Ok(o)
}

fn is_state(ty: &Type) -> bool {
    match ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "ModuleState"),
        _ => false,
    }
}

/// Whether `tokens` (a type, flattened) contains any of `idents`.
fn mentions(tokens: TokenStream2, idents: &[&syn::Ident]) -> bool {
    tokens.into_iter().any(|t| match t {
        proc_macro2::TokenTree::Ident(i) => idents.contains(&&i),
        proc_macro2::TokenTree::Group(g) => mentions(g.stream(), idents),
        _ => false,
    })
}

/// Derives `rmlx_nn::Module` (plus `rmlx_nn::Member` and `Display`) for a struct with named
/// fields: each field, in declaration order, is a member named after the field.
#[proc_macro_derive(Module, attributes(module))]
pub fn derive_module(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(input) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(input: DeriveInput) -> syn::Result<TokenStream2> {
    let so = struct_opts(&input.attrs)?;
    let krate: syn::Path = so
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::rmlx_nn));
    let name = &input.ident;
    let class = so.name.clone().unwrap_or_else(|| name.to_string());
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(f) => &f.named,
            _ => {
                return Err(syn::Error::new_spanned(
                    &input.ident,
                    "#[derive(Module)] needs a struct with named fields",
                ))
            }
        },
        _ => {
            return Err(syn::Error::new_spanned(
                &input.ident,
                "#[derive(Module)] supports structs only",
            ))
        }
    };
    let type_params: Vec<&syn::Ident> = input
        .generics
        .params
        .iter()
        .filter_map(|p| match p {
            GenericParam::Type(t) => Some(&t.ident),
            _ => None,
        })
        .collect();
    let mut bounds: Vec<TokenStream2> = input
        .generics
        .params
        .iter()
        .filter_map(|p| match p {
            GenericParam::Type(t) => {
                let i = &t.ident;
                Some(quote! { #i: 'static })
            }
            GenericParam::Lifetime(l) => {
                let l = &l.lifetime;
                Some(quote! { #l: 'static })
            }
            GenericParam::Const(_) => None,
        })
        .collect();
    let mut state = None;
    let mut visits = Vec::new();
    let mut visits_mut = Vec::new();
    for f in fields {
        let Some(ident) = f.ident.as_ref() else {
            return Err(syn::Error::new_spanned(
                f,
                "#[derive(Module)] needs named fields",
            ));
        };
        let o = field_opts(&f.attrs)?;
        if is_state(&f.ty) {
            if state.is_some() {
                return Err(syn::Error::new_spanned(
                    f,
                    "a module holds exactly one `ModuleState` field",
                ));
            }
            state = Some(ident.clone());
            continue;
        }
        if o.skip {
            continue;
        }
        let key = o
            .rename
            .unwrap_or_else(|| ident.to_string().trim_start_matches("r#").to_string());
        let hidden = o.hidden;
        let ty = &f.ty;
        let toks = quote! { #ty };
        if mentions(toks.clone(), &type_params) && !mentions(toks, &[name]) {
            bounds.push(quote! { #ty: #krate::Member });
        }
        visits.push(
            quote! { <#ty as #krate::Member>::visit_member(&self.#ident, #key, #hidden, visitor); },
        );
        visits_mut.push(quote! { <#ty as #krate::Member>::visit_member_mut(&mut self.#ident, #key, #hidden, visitor); });
    }
    let state = state.ok_or_else(|| {
        syn::Error::new_spanned(
            &input.ident,
            "#[derive(Module)] needs one field of type `ModuleState` (e.g. `state: ModuleState`)",
        )
    })?;
    let extra = match &so.extra_repr {
        Some(m) => quote! { fn extra_repr(&self) -> ::std::string::String { self.#m() } },
        None => quote! {},
    };
    let training = match &so.training_mode {
        Some(m) => quote! {
            fn set_training_mode(&mut self, mode: bool) {
                self.#state.training = mode;
                self.#m(mode)
            }
        },
        None => quote! {},
    };
    let mut generics = input.generics.clone();
    if !bounds.is_empty() {
        let wc = generics.make_where_clause();
        for b in &bounds {
            wc.predicates.push(syn::parse2(b.clone())?);
        }
    }
    let (ig, tg, wc) = generics.split_for_impl();
    Ok(quote! {
        impl #ig #krate::Module for #name #tg #wc {
            fn class_name(&self) -> &str { #class }
            fn state(&self) -> &#krate::ModuleState { &self.#state }
            fn state_mut(&mut self) -> &mut #krate::ModuleState { &mut self.#state }
            #[allow(unused_variables)]
            fn visit<'a>(&'a self, visitor: &mut dyn #krate::Visitor<'a>) { #(#visits)* }
            #[allow(unused_variables)]
            fn visit_mut<'a>(&'a mut self, visitor: &mut dyn #krate::VisitorMut<'a>) { #(#visits_mut)* }
            #extra
            #training
            fn as_module(&self) -> &dyn #krate::Module { self }
            fn as_module_mut(&mut self) -> &mut dyn #krate::Module { self }
            fn as_any(&self) -> &dyn ::std::any::Any { self }
            fn as_any_mut(&mut self) -> &mut dyn ::std::any::Any { self }
            fn into_any(self: ::std::boxed::Box<Self>) -> ::std::boxed::Box<dyn ::std::any::Any> { self }
            fn replace_with(&mut self, new: ::std::boxed::Box<dyn #krate::Module>) -> ::std::result::Result<(), ::std::string::String> {
                match new.as_any().downcast_ref::<Self>() {
                    ::std::option::Option::None => ::std::result::Result::Err(::std::format!(
                        "cannot replace a {} with a {}: the field's type is fixed (use a Box<dyn Module> field to swap classes)",
                        #class, new.class_name()
                    )),
                    ::std::option::Option::Some(_) => {
                        if let ::std::result::Result::Ok(b) = new.into_any().downcast::<Self>() {
                            *self = *b;
                        }
                        ::std::result::Result::Ok(())
                    }
                }
            }
        }
        impl #ig #krate::Member for #name #tg #wc {
            fn visit_member<'a>(&'a self, name: &str, hidden: bool, visitor: &mut dyn #krate::Visitor<'a>) {
                visitor.module(name, self, hidden)
            }
            fn visit_member_mut<'a>(&'a mut self, name: &str, hidden: bool, visitor: &mut dyn #krate::VisitorMut<'a>) {
                visitor.module(name, #krate::ModuleMut::Typed(self), hidden)
            }
        }
        impl #ig #krate::CompileState for #name #tg #wc {
            fn state_arrays(&self) -> ::std::vec::Vec<#krate::core::Array> {
                #krate::module_state_arrays(self)
            }
            fn set_state_arrays(&mut self, arrays: &[#krate::core::Array]) -> #krate::core::Result<()> {
                #krate::set_module_state_arrays(self, arrays)
            }
        }
        impl #ig ::std::fmt::Display for #name #tg #wc {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&<Self as #krate::ModuleExt>::repr(self))
            }
        }
    })
}
