//! The syntax of a model declaration, parsed as written (no meaning attached yet).
//!
//! ```text
//! #[attributes]* visibility struct Name {
//!     entry, entry, …
//! }
//! entry := (name ':')? kind ('(' arg, … ')')? ('{' entry, … '}')?
//! arg   := (key '=')? value ('->' value)?
//! value := '-'? number | true | false | identifier | '(' value, … ')'
//! ```

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, Lit, LitBool, Token, Visibility, braced, parenthesized, token};

use crate::limits;

/// `#[attrs] vis struct Name { entries }`.
pub struct ModelDecl {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub ident: Ident,
    pub entries: Vec<Entry>,
}

/// One entry of the layer list: `hidden: dense(128)`, `relu`, `input(784)`, `residual { … }`,
/// `residual { … } shortcut { … }`.
pub struct Entry {
    /// The optional name before a colon.
    pub name: Option<Ident>,
    /// The layer kind (`dense`, `relu`, …).
    pub kind: Ident,
    /// The parenthesised arguments, if written.
    pub args: Option<Args>,
    /// A braced block of nested entries, if written.
    pub body: Option<Body>,
    /// `shortcut { entry, … }` after the block: a `residual` block's shortcut branch.
    pub shortcut: Option<(Ident, Body)>,
}

/// `( arg, … )`.
pub struct Args {
    pub paren: token::Paren,
    pub list: Punctuated<Arg, Token![,]>,
}

/// `{ entry, … }`: the layers of a `residual` block or of its shortcut (reported on any
/// other layer).
pub struct Body {
    pub brace: token::Brace,
    pub entries: Vec<Entry>,
}

/// One argument: `128`, `784 -> 128`, `kernel = 3`, `(3, 3)`.
pub struct Arg {
    pub key: Option<Ident>,
    pub value: Value,
    pub arrow: Option<(Token![->], Value)>,
}

/// A value inside an argument.
pub enum Value {
    /// An integer or float literal, possibly negated.
    Number { neg: Option<Token![-]>, lit: Lit },
    /// A bare identifier (`f64`, `same`, …).
    Ident(Ident),
    /// `true` or `false`.
    Bool(LitBool),
    /// A parenthesised list, such as the kernel size `(3, 5)`.
    Tuple { paren: token::Paren, items: Punctuated<Value, Token![,]> },
}

impl Value {
    /// The span covering the value.
    pub fn span(&self) -> Span {
        match self {
            Value::Number { neg: Some(neg), .. } => neg.span,
            Value::Number { lit, .. } => lit.span(),
            Value::Ident(ident) => ident.span(),
            Value::Bool(b) => b.span,
            Value::Tuple { paren, .. } => paren.span.join(),
        }
    }
}

impl Arg {
    /// The span to blame for this argument as a whole.
    pub fn span(&self) -> Span {
        match &self.key {
            Some(key) => key.span(),
            None => self.value.span(),
        }
    }
}

/// Parses the macro's input, after checking that its brackets nest at most
/// [`MAX_NESTING`](limits::MAX_NESTING) deep: syn builds its token buffer recursively, so
/// thousands of nested `(` would overflow the stack (aborting the compiler) before any error
/// could be reported. The check itself walks the tokens with a stack of its own.
pub fn parse(tokens: TokenStream) -> syn::Result<ModelDecl> {
    let mut open = vec![tokens.clone().into_iter()];
    while let Some(tokens) = open.last_mut() {
        match tokens.next() {
            Some(TokenTree::Group(group)) if open.len() > limits::MAX_NESTING => {
                return Err(syn::Error::new(
                    group.span_open(),
                    format_args!(
                        "brackets nested more than {} deep; a model declaration never needs that many",
                        limits::MAX_NESTING
                    ),
                ));
            }
            Some(TokenTree::Group(group)) => open.push(group.stream().into_iter()),
            Some(_) => {}
            None => {
                open.pop();
            }
        }
    }
    syn::parse2(tokens)
}

impl Parse for ModelDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        input.parse::<Token![struct]>()?;
        let ident: Ident = input.parse()?;
        let content;
        braced!(content in input);
        let entries = parse_entries(&content)?;
        if !input.is_empty() {
            return Err(input.error(
                "unexpected tokens after the model's closing brace; declare each model in its own `model!`",
            ));
        }
        Ok(ModelDecl { attrs, vis, ident, entries })
    }
}

fn parse_entries(input: ParseStream) -> syn::Result<Vec<Entry>> {
    // As `Punctuated::parse_terminated`, with a message that says what the comma separates.
    let mut entries = Vec::new();
    while !input.is_empty() {
        entries.push(input.parse()?);
        if input.is_empty() {
            break;
        }
        if !input.peek(Token![,]) {
            return Err(input.error("expected `,` between layers"));
        }
        input.parse::<Token![,]>()?;
    }
    Ok(entries)
}

impl Parse for Entry {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(Ident::peek_any) && !input.peek(Ident) && input.peek2(Token![:]) {
            let keyword = input.call(Ident::parse_any)?;
            return Err(syn::Error::new(
                keyword.span(),
                format_args!("`{keyword}` is a Rust keyword and cannot name a layer; choose another name"),
            ));
        }
        let first: Ident = input
            .parse()
            .map_err(|e| syn::Error::new(e.span(), "expected a layer, such as `dense(128)` or `relu`"))?;
        let (name, kind) = if input.peek(Token![:]) && !input.peek(Token![::]) {
            if first.to_string().starts_with("r#") {
                // A name is also the prefix of tensor names (`name.weight`), where `r#` has
                // no place; and `r#type_0` (a nested layer's field) is no identifier.
                return Err(syn::Error::new(
                    first.span(),
                    format_args!(
                        "a raw identifier cannot name a layer (it prefixes the layer's tensor names); \
                         choose a name that is not a keyword instead of `{first}`"
                    ),
                ));
            }
            input.parse::<Token![:]>()?;
            let kind: Ident = input
                .parse()
                .map_err(|e| syn::Error::new(e.span(), "expected a layer after the layer's name"))?;
            (Some(first), kind)
        } else {
            (None, first)
        };
        let args = if input.peek(token::Paren) {
            let content;
            let paren = parenthesized!(content in input);
            Some(Args { paren, list: Punctuated::parse_terminated(&content)? })
        } else {
            None
        };
        let body = if input.peek(token::Brace) { Some(input.parse()?) } else { None };
        let shortcut = if input.peek(Ident) && input.peek2(token::Brace) {
            let keyword: Ident = input.parse()?;
            if keyword != "shortcut" {
                return Err(syn::Error::new(
                    keyword.span(),
                    format_args!(
                        "expected `,` between layers; a block of layers after `residual {{ … }}` is its \
                         shortcut: `shortcut {{ … }}`, not `{keyword} {{ … }}`"
                    ),
                ));
            }
            Some((keyword, input.parse()?))
        } else {
            None
        };
        Ok(Entry { name, kind, args, body, shortcut })
    }
}

impl Parse for Body {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let content;
        let brace = braced!(content in input);
        let entries = parse_entries(&content)?;
        Ok(Body { brace, entries })
    }
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key = if input.peek(Ident) && input.peek2(Token![=]) {
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            Some(key)
        } else {
            None
        };
        let value: Value = input.parse()?;
        let arrow = if input.peek(Token![->]) { Some((input.parse()?, input.parse()?)) } else { None };
        if !input.is_empty() && !input.peek(Token![,]) {
            let expected = if arrow.is_some() { "expected `,`" } else { "expected `,` or `->`" };
            return Err(input.error(expected));
        }
        Ok(Arg { key, value, arrow })
    }
}

impl Parse for Value {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(token::Paren) {
            let content;
            let paren = parenthesized!(content in input);
            let items = Punctuated::<Value, Token![,]>::parse_terminated(&content)?;
            return Ok(Value::Tuple { paren, items });
        }
        if input.peek(Ident) {
            return Ok(Value::Ident(input.parse()?));
        }
        let neg: Option<Token![-]> = input.parse()?;
        match input.parse::<Lit>() {
            Ok(lit @ (Lit::Int(_) | Lit::Float(_))) => Ok(Value::Number { neg, lit }),
            Ok(Lit::Bool(b)) if neg.is_none() => Ok(Value::Bool(b)),
            Ok(Lit::Str(s)) => Err(syn::Error::new(
                s.span(),
                format_args!("expected a number, not a string; write `{}` without the quotes", s.value()),
            )),
            Ok(other) => Err(syn::Error::new(other.span(), "expected a number")),
            Err(e) => Err(syn::Error::new(e.span(), "expected a number")),
        }
    }
}
