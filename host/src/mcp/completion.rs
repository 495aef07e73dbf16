//! `completion/complete` for prompt arguments.
//!
//! This module owns which prompt arguments complete and with what:
//!
//! - **Symbol-like arguments** complete with instruments from the broker's symbol search
//!   ([`Broker::search_symbols`], reqMatchingSymbols). An argument is symbol-like when its name
//!   is one of [`SYMBOL_ARGUMENTS`] or its description ends with `(symbol)` — the marker the
//!   plugin runtime appends for arguments a plugin declares with the `symbol` kind
//!   (`plugins::mcp::mcp_prompt`). A comma-separated list (`"AAPL,QQ"`) completes its last
//!   item and keeps the items before it. Values are uppercase, deduplicated, at most
//!   [`CompletionInfo::MAX_VALUES`]; symbols starting with the typed prefix come first.
//! - **Everything else** (numbers, free text, accounts, unknown argument names, resource
//!   references) completes with an empty list. Plugin prompt arguments carry no allowed-value
//!   lists (the kit's argument kinds are text, number, symbol and account), so there is no
//!   enum completion.
//!
//! An unknown prompt name is an `invalid_params` error. Broker failures (not connected,
//! timeout, TWS error) give an empty list: completion is a typing aid, never a failure.

use rmcp::ErrorData;
use rmcp::model::{
    CompleteRequestParams, CompleteResult, CompletionInfo, PromptArgument, Reference,
};

use super::registry::Registry;
use crate::broker::Broker;

/// Argument names that always complete as symbols.
pub const SYMBOL_ARGUMENTS: &[&str] = &["symbol", "symbols", "benchmark", "underlying"];

/// Description suffix that marks a symbol argument.
pub const SYMBOL_MARKER: &str = "(symbol)";

/// Whether a prompt argument completes with symbols.
pub fn is_symbol_argument(arg: &PromptArgument) -> bool {
    SYMBOL_ARGUMENTS
        .iter()
        .any(|n| arg.name.eq_ignore_ascii_case(n))
        || arg
            .description
            .as_deref()
            .is_some_and(|d| d.trim_end().ends_with(SYMBOL_MARKER))
}

/// Answer a `completion/complete` request.
pub async fn complete(
    registry: &Registry,
    request: &CompleteRequestParams,
) -> Result<CompleteResult, ErrorData> {
    let Reference::Prompt(prompt_ref) = &request.r#ref else {
        return Ok(empty());
    };
    let Some(prompt) = registry
        .list_prompts()
        .into_iter()
        .find(|p| p.name == prompt_ref.name)
    else {
        return Err(ErrorData::invalid_params(
            format!("unknown prompt: {}", prompt_ref.name),
            None,
        ));
    };
    let arg = prompt
        .arguments
        .iter()
        .flatten()
        .find(|a| a.name == request.argument.name);
    match arg {
        Some(a) if is_symbol_argument(a) => {
            Ok(complete_symbols(registry.broker(), &request.argument.value).await)
        }
        _ => Ok(empty()),
    }
}

fn empty() -> CompleteResult {
    CompleteResult::new(CompletionInfo::with_all_values(Vec::new()).unwrap_or_default())
}

/// Symbols for the typed value (its last comma-separated item).
async fn complete_symbols(broker: &Broker, value: &str) -> CompleteResult {
    let (head, tail) = match value.rfind(',') {
        Some(i) => (&value[..=i], &value[i + 1..]),
        None => ("", value),
    };
    let prefix = tail.trim().to_ascii_uppercase();
    if prefix.is_empty() {
        return empty();
    }
    let found = match broker.search_symbols(&prefix).await {
        Ok(f) => f,
        Err(e) => {
            tracing::debug!(error = %e, "symbol completion: search failed");
            return empty();
        }
    };
    let symbols = rank(found.into_iter().map(|m| m.symbol), &prefix);
    let total = symbols.len();
    let values: Vec<String> = symbols
        .into_iter()
        .take(CompletionInfo::MAX_VALUES)
        .map(|s| format!("{head}{s}"))
        .collect();
    let has_more = total > values.len();
    let total = u32::try_from(total).unwrap_or(u32::MAX);
    // At most MAX_VALUES values, so this cannot fail.
    CompleteResult::new(
        CompletionInfo::with_pagination(values, Some(total), has_more).unwrap_or_default(),
    )
}

/// Uppercase, drop blanks and duplicates, then put symbols starting with `prefix` first
/// (keeping the broker's order within each group).
fn rank(symbols: impl IntoIterator<Item = String>, prefix: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in symbols {
        let s = s.trim().to_ascii_uppercase();
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    }
    let (mut first, rest): (Vec<_>, Vec<_>) = out.into_iter().partition(|s| s.starts_with(prefix));
    first.extend(rest);
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbol_arguments_by_name_or_marker() {
        assert!(is_symbol_argument(&PromptArgument::new("symbol")));
        assert!(is_symbol_argument(&PromptArgument::new("Benchmark")));
        assert!(is_symbol_argument(
            &PromptArgument::new("ticker").with_description("Ticker to watch (symbol)")
        ));
        assert!(!is_symbol_argument(
            &PromptArgument::new("days").with_description("Days of bars (number)")
        ));
        assert!(!is_symbol_argument(&PromptArgument::new("strategy")));
    }

    #[test]
    fn rank_dedups_uppercases_and_prefers_prefix() {
        let r = rank(
            ["xaap", "AAPL", "aapl", "AA", " ", "BAA"].map(String::from),
            "AA",
        );
        assert_eq!(r, ["AAPL", "AA", "XAAP", "BAA"]);
    }
}
