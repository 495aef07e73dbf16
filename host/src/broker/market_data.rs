//! Historical bars and quotes (snapshots and streams).

use futures::StreamExt;
use ibapi::market_data::TradingHours;
use ibapi::market_data::historical::{BarSize, Duration as IbDuration, WhatToShow};
use ibapi::market_data::realtime::{Quote as IbQuote, TickTypes};
use ibapi::subscriptions::SubscriptionItem;
use ibapi::subscriptions::r#async::Subscription;

use super::convert::{bar, quote, to_contract};
use super::{Bar, Broker, BrokerError, BrokerResult, ContractSpec, HistoricalRequest, Quote};

/// Bar sizes TWS accepts, as `(text, BarSize)`.
const BAR_SIZES: &[(&str, BarSize)] = &[
    ("1 secs", BarSize::Sec),
    ("5 secs", BarSize::Sec5),
    ("10 secs", BarSize::Sec10),
    ("15 secs", BarSize::Sec15),
    ("30 secs", BarSize::Sec30),
    ("1 min", BarSize::Min),
    ("2 mins", BarSize::Min2),
    ("3 mins", BarSize::Min3),
    ("5 mins", BarSize::Min5),
    ("10 mins", BarSize::Min10),
    ("15 mins", BarSize::Min15),
    ("20 mins", BarSize::Min20),
    ("30 mins", BarSize::Min30),
    ("1 hour", BarSize::Hour),
    ("2 hours", BarSize::Hour2),
    ("3 hours", BarSize::Hour3),
    ("4 hours", BarSize::Hour4),
    ("8 hours", BarSize::Hour8),
    ("1 day", BarSize::Day),
    ("1 week", BarSize::Week),
    ("1 month", BarSize::Month),
];

/// Parse a TWS bar size setting such as `1 day` or `5 mins`.
pub fn parse_bar_size(s: &str) -> BrokerResult<BarSize> {
    let norm = s.trim().to_ascii_lowercase();
    let alt = match norm.as_str() {
        "1 sec" => "1 secs",
        "1 mins" => "1 min",
        "1 hours" => "1 hour",
        "1 days" | "1d" => "1 day",
        "1 weeks" | "1 w" => "1 week",
        "1 months" | "1 m" => "1 month",
        other => other,
    };
    BAR_SIZES
        .iter()
        .find(|(n, _)| *n == alt)
        .map(|(_, b)| *b)
        .ok_or_else(|| {
            BrokerError::invalid(
                "barSizeSetting",
                format!(
                    "{s:?} is not a TWS bar size; use one of: {}",
                    BAR_SIZES
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
}

/// Parse a TWS duration such as `30 D` or `1 Y`.
pub fn parse_duration(s: &str) -> BrokerResult<IbDuration> {
    s.trim().parse::<IbDuration>().map_err(|e| {
        BrokerError::invalid(
            "durationStr",
            format!("{s:?} is not a TWS duration like \"30 D\", \"6 M\", \"1 Y\" ({e})"),
        )
    })
}

/// Parse what-to-show.
pub fn parse_what_to_show(s: &str) -> BrokerResult<WhatToShow> {
    s.trim().parse::<WhatToShow>().map_err(|_| {
        BrokerError::invalid(
            "whatToShow",
            format!(
                "{s:?} is not one of TRADES, MIDPOINT, BID, ASK, BID_ASK, ADJUSTED_LAST, HISTORICAL_VOLATILITY, OPTION_IMPLIED_VOLATILITY"
            ),
        )
    })
}

impl Broker {
    /// Historical bars (reqHistoricalData).
    pub async fn historical_bars(&self, req: &HistoricalRequest) -> BrokerResult<Vec<Bar>> {
        let contract = to_contract(&req.contract)?;
        let bar_size = parse_bar_size(&req.bar_size_setting)?;
        let duration = parse_duration(&req.duration_str)?;
        let what = parse_what_to_show(&req.what_to_show)?;
        let hours = if req.use_rth {
            TradingHours::Regular
        } else {
            TradingHours::Extended
        };
        self.call("historical data", |c| async move {
            let data = c
                .historical_data(&contract, bar_size)
                .duration(duration)
                .what_to_show(what)
                .trading_hours(hours)
                .fetch()
                .await?;
            Ok(data.bars.iter().map(bar).collect())
        })
        .await
    }

    /// A one-shot quote snapshot (reqMktData snapshot). Concurrent snapshots of the same
    /// contract are coalesced: each caller gets a snapshot requested after it called, shared
    /// with the callers that queued with it (see [`super::coalesce`]).
    pub async fn quote(&self, spec: &ContractSpec) -> BrokerResult<Quote> {
        to_contract(spec)?;
        let key = format!("{spec:?}");
        let (broker, spec) = (self.clone(), spec.clone());
        self.inner
            .quote_flight
            .run(key, move || {
                let (broker, spec) = (broker.clone(), spec.clone());
                async move { broker.request_quote(&spec).await }
            })
            .await
    }

    /// One reqMktData snapshot round trip.
    async fn request_quote(&self, spec: &ContractSpec) -> BrokerResult<Quote> {
        let contract = to_contract(spec)?;
        let symbol = spec.symbol.trim().to_ascii_uppercase();
        self.call("quote snapshot", |c| async move {
            let mut sub = c.market_data(&contract).snapshot().subscribe().await?;
            let mut q = IbQuote::default();
            while let Some(item) = sub.next().await {
                match item {
                    Ok(SubscriptionItem::Data(TickTypes::SnapshotEnd)) => break,
                    Ok(SubscriptionItem::Data(t)) => q.apply(&t),
                    Ok(SubscriptionItem::Notice(n)) => {
                        tracing::debug!(code = n.code, "quote notice: {}", n.message)
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(quote(&symbol, &q))
        })
        .await
    }

    /// Subscribe to streaming quotes. Each [`QuoteStream::next`] returns the quote after a tick.
    pub async fn subscribe_quotes(&self, spec: &ContractSpec) -> BrokerResult<QuoteStream> {
        let contract = to_contract(spec)?;
        let symbol = spec.symbol.trim().to_ascii_uppercase();
        let sub = self
            .call("market data subscription", |c| async move {
                Ok(c.market_data(&contract).streaming().subscribe().await?)
            })
            .await?;
        Ok(QuoteStream {
            symbol,
            sub,
            quote: IbQuote::default(),
        })
    }
}

/// A live market data subscription; dropping it cancels the subscription.
pub struct QuoteStream {
    symbol: String,
    sub: Subscription<TickTypes>,
    quote: IbQuote,
}

impl QuoteStream {
    /// The next quote (after one tick), `None` when the stream ended.
    pub async fn next(&mut self) -> Option<BrokerResult<Quote>> {
        loop {
            match self.sub.next().await? {
                Ok(SubscriptionItem::Data(t)) => {
                    if matches!(t, TickTypes::SnapshotEnd | TickTypes::RequestParameters(_)) {
                        continue;
                    }
                    self.quote.apply(&t);
                    return Some(Ok(quote(&self.symbol, &self.quote)));
                }
                Ok(SubscriptionItem::Notice(n)) => {
                    tracing::debug!(code = n.code, "market data notice: {}", n.message)
                }
                Err(e) => return Some(Err(e.into())),
            }
        }
    }
}
