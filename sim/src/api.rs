//! The simulator's protocol-neutral API.
//!
//! Both wire codecs (protobuf for `ibapi` 5.x and other modern clients, the classic NUL-separated
//! text protocol for clients such as `ib_async`) decode client messages into [`Request`] and encode
//! [`Response`] values back onto the wire. The simulated world (`crate::world`) only ever sees these
//! types, so it cannot tell (and does not care) which encoding a client speaks.
//!
//! Conventions:
//! - Prices are `f64`; quantities, sizes and positions are `f64` (the wire carries decimals as strings).
//! - "Unset" numeric order fields (TWS's `UNSET_DOUBLE` / `UNSET_INTEGER`) are `None`.
//! - Times are Unix epoch seconds (`i64`) unless a field says otherwise; codecs format them.

use serde::{Deserialize, Serialize};

/// Identifies a client connection (the API client id given in startApi).
pub type ClientId = i32;
/// Request id chosen by the client for a request/subscription.
pub type ReqId = i32;
/// Order id chosen by the client (from nextValidId).
pub type OrderId = i32;

// ---------------------------------------------------------------------------------------------
// Domain records
// ---------------------------------------------------------------------------------------------

/// A combo (BAG) leg.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComboLeg {
    pub con_id: i32,
    pub ratio: i32,
    /// BUY or SELL.
    pub action: String,
    pub exchange: String,
}

/// A contract, as sent in requests and echoed in responses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contract {
    pub con_id: i32,
    pub symbol: String,
    /// STK, OPT, FUT, CASH, IND, BOND, FOP, BAG, ...
    pub sec_type: String,
    /// YYYYMMDD or YYYYMM for derivatives, empty otherwise.
    pub last_trade_date_or_contract_month: String,
    /// Strike for options; 0.0 otherwise.
    pub strike: f64,
    /// "C"/"P" for options, empty otherwise.
    pub right: String,
    /// Empty for stocks, e.g. "100" for options, "50" for ES.
    pub multiplier: String,
    pub exchange: String,
    pub primary_exchange: String,
    pub currency: String,
    pub local_symbol: String,
    pub trading_class: String,
    pub sec_id_type: String,
    pub sec_id: String,
    pub description: String,
    pub include_expired: bool,
    pub combo_legs_description: String,
    pub combo_legs: Vec<ComboLeg>,
}

/// Full contract details (reqContractDetails answer).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContractDetails {
    pub contract: Contract,
    pub market_name: String,
    pub min_tick: f64,
    /// Comma-separated order types, e.g. "LMT,MKT,STP,STP LMT,TRAIL,MOC,LOC".
    pub order_types: String,
    /// Comma-separated exchanges.
    pub valid_exchanges: String,
    pub price_magnifier: i32,
    pub under_con_id: i32,
    pub long_name: String,
    pub contract_month: String,
    pub industry: String,
    pub category: String,
    pub subcategory: String,
    pub time_zone_id: String,
    pub trading_hours: String,
    pub liquid_hours: String,
    pub ev_rule: String,
    pub ev_multiplier: f64,
    pub agg_group: i32,
    pub under_symbol: String,
    pub under_sec_type: String,
    /// Comma-separated market rule ids, one per valid exchange.
    pub market_rule_ids: String,
    pub real_expiration_date: String,
    pub last_trade_time: String,
    pub stock_type: String,
    pub min_size: f64,
    pub size_increment: f64,
    pub suggested_size_increment: f64,
    pub sec_id_list: Vec<(String, String)>,
}

/// A price-increment band of a market rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PriceIncrement {
    pub low_edge: f64,
    pub increment: f64,
}

/// A symbol-search hit (reqMatchingSymbols).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContractDescription {
    pub contract: Contract,
    pub derivative_sec_types: Vec<String>,
}

/// One historical bar. `time` is epoch seconds of the bar start. Bars of one day or longer
/// (`1 day`, `1W`, `1M`) start at 00:00 UTC of their (first) trading date and should be rendered
/// as `yyyymmdd`; note that intraday bars can also start at 00:00 UTC (24h markets), so codecs
/// that can should decide from the request's bar size rather than from `time` alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    pub time: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
    pub wap: f64,
    pub count: i32,
}

/// An order as placed by a client (the subset of IB's Order the simulator understands; codecs
/// fill the rest of the wire record with TWS defaults).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: OrderId,
    pub client_id: ClientId,
    pub perm_id: i64,
    pub parent_id: OrderId,
    /// BUY / SELL (SSHORT accepted as SELL).
    pub action: String,
    pub total_quantity: f64,
    /// MKT, LMT, STP, STP LMT, TRAIL, TRAIL LIMIT, MOC, LOC, ...
    pub order_type: String,
    pub lmt_price: Option<f64>,
    /// Stop price for STP / STP LMT; trailing amount for TRAIL.
    pub aux_price: Option<f64>,
    /// DAY, GTC, IOC, GTD, OPG, FOK.
    pub tif: String,
    pub account: String,
    pub oca_group: String,
    /// 1 = cancel all remaining with block, 2 = reduce with block, 3 = reduce non-block.
    pub oca_type: i32,
    pub order_ref: String,
    pub transmit: bool,
    pub outside_rth: bool,
    pub trailing_percent: Option<f64>,
    pub trail_stop_price: Option<f64>,
    pub what_if: bool,
    pub good_till_date: String,
    pub good_after_time: String,
    pub hidden: bool,
    pub all_or_none: bool,
    pub min_qty: Option<i32>,
    pub filled_quantity: f64,
    pub algo_strategy: String,
    pub algo_params: Vec<(String, String)>,
    pub order_combo_legs_prices: Vec<Option<f64>>,
    pub smart_combo_routing_params: Vec<(String, String)>,
}

/// Order state attached to open orders (margin / commission figures are what-if results).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderState {
    pub status: String,
    pub init_margin_before: Option<f64>,
    pub maint_margin_before: Option<f64>,
    pub equity_with_loan_before: Option<f64>,
    pub init_margin_change: Option<f64>,
    pub maint_margin_change: Option<f64>,
    pub equity_with_loan_change: Option<f64>,
    pub init_margin_after: Option<f64>,
    pub maint_margin_after: Option<f64>,
    pub equity_with_loan_after: Option<f64>,
    pub commission: Option<f64>,
    pub min_commission: Option<f64>,
    pub max_commission: Option<f64>,
    pub commission_currency: String,
    pub warning_text: String,
    /// Completed orders only: time and reason of completion.
    pub completed_time: String,
    pub completed_status: String,
}

/// An execution (fill).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    pub order_id: OrderId,
    pub client_id: ClientId,
    /// Unique, e.g. "0000e0d5.6553d3a1.01.01".
    pub exec_id: String,
    /// Epoch seconds.
    pub time: i64,
    pub account: String,
    pub exchange: String,
    /// BOT or SLD.
    pub side: String,
    pub shares: f64,
    pub price: f64,
    pub perm_id: i64,
    pub liquidation: i32,
    pub cum_qty: f64,
    pub avg_price: f64,
    pub order_ref: String,
    pub ev_rule: String,
    pub ev_multiplier: f64,
    pub model_code: String,
    /// 1 = added liquidity, 2 = removed, 3 = routed out.
    pub last_liquidity: i32,
}

/// Commission report, always sent after its execution.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CommissionReport {
    pub exec_id: String,
    pub commission: f64,
    pub currency: String,
    /// `None` when not a closing trade (TWS sends UNSET_DOUBLE).
    pub realized_pnl: Option<f64>,
    pub yield_: Option<f64>,
    pub yield_redemption_date: i32,
}

/// Filter of reqExecutions; empty/zero fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecutionFilter {
    pub client_id: i32,
    pub account: String,
    /// "yyyymmdd hh:mm:ss" (optionally with zone); executions at or after it.
    pub time: String,
    pub symbol: String,
    pub sec_type: String,
    pub exchange: String,
    pub side: String,
    pub last_n_days: i32,
    pub specific_dates: Vec<i32>,
}

/// Scanner subscription parameters (subset used by the simulator).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScannerSubscription {
    pub number_of_rows: i32,
    pub instrument: String,
    pub location_code: String,
    pub scan_code: String,
    pub above_price: Option<f64>,
    pub below_price: Option<f64>,
    pub above_volume: Option<i32>,
    pub market_cap_above: Option<f64>,
    pub market_cap_below: Option<f64>,
    pub stock_type_filter: String,
}

/// One row of a scanner result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanRow {
    pub rank: i32,
    pub details: ContractDetails,
    pub distance: String,
    pub benchmark: String,
    pub projection: String,
    pub legs: String,
}

/// A trade on the tape (historical ticks TRADES, tick-by-tick Last/AllLast). `time` is epoch
/// seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TickLast {
    pub time: i64,
    pub price: f64,
    pub size: f64,
    pub past_limit: bool,
    pub unreported: bool,
    pub exchange: String,
    pub special_conditions: String,
}

/// A top-of-book change (historical ticks BID_ASK, tick-by-tick BidAsk).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TickBidAsk {
    pub time: i64,
    pub bid: f64,
    pub ask: f64,
    pub bid_size: f64,
    pub ask_size: f64,
    pub bid_past_low: bool,
    pub ask_past_high: bool,
}

/// A midpoint change (historical ticks MIDPOINT; size is always 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TickMid {
    pub time: i64,
    pub price: f64,
    pub size: f64,
}

/// One row of reqMktDepthExchanges.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DepthExchange {
    pub exchange: String,
    pub sec_type: String,
    pub listing_exchange: String,
    /// "Deep" or "Deep2".
    pub service_data_type: String,
    pub agg_group: i32,
}

/// TWS tick types the simulator emits (numeric values are IB's).
pub mod tick {
    pub const BID_SIZE: i32 = 0;
    pub const BID: i32 = 1;
    pub const ASK: i32 = 2;
    pub const ASK_SIZE: i32 = 3;
    pub const LAST: i32 = 4;
    pub const LAST_SIZE: i32 = 5;
    pub const HIGH: i32 = 6;
    pub const LOW: i32 = 7;
    pub const VOLUME: i32 = 8;
    pub const CLOSE: i32 = 9;
    pub const BID_OPTION: i32 = 10;
    pub const ASK_OPTION: i32 = 11;
    pub const LAST_OPTION: i32 = 12;
    pub const MODEL_OPTION: i32 = 13;
    pub const OPEN: i32 = 14;
    pub const LAST_TIMESTAMP: i32 = 45;
    pub const HALTED: i32 = 49;
    /// Delayed variants are the live ones + 65 (DELAYED_BID = 66, ...).
    pub const DELAYED_OFFSET: i32 = 65;
}

// ---------------------------------------------------------------------------------------------
// Requests (client -> simulator)
// ---------------------------------------------------------------------------------------------

/// A decoded client message.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // Short-lived values; boxing would only add allocations.
pub enum Request {
    /// startApi (71): the first message after the handshake.
    StartApi {
        client_id: ClientId,
        optional_capabilities: String,
    },
    /// reqIds (8).
    ReqIds { num_ids: i32 },
    /// reqCurrentTime (49).
    ReqCurrentTime,
    /// reqManagedAccts (17).
    ReqManagedAccts,
    /// reqContractDetails (9).
    ReqContractDetails { req_id: ReqId, contract: Contract },
    /// reqMatchingSymbols (81).
    ReqMatchingSymbols { req_id: ReqId, pattern: String },
    /// reqMarketRule (91).
    ReqMarketRule { market_rule_id: i32 },
    /// reqSecDefOptParams (78).
    ReqSecDefOptParams {
        req_id: ReqId,
        underlying_symbol: String,
        fut_fop_exchange: String,
        underlying_sec_type: String,
        underlying_con_id: i32,
    },
    /// reqMktData (1).
    ReqMktData {
        req_id: ReqId,
        contract: Contract,
        generic_tick_list: String,
        snapshot: bool,
        regulatory_snapshot: bool,
    },
    /// cancelMktData (2).
    CancelMktData { req_id: ReqId },
    /// reqMarketDataType (59): 1 live, 2 frozen, 3 delayed, 4 delayed-frozen.
    ReqMarketDataType { market_data_type: i32 },
    /// reqHistoricalData (20).
    ReqHistoricalData {
        req_id: ReqId,
        contract: Contract,
        /// "yyyymmdd hh:mm:ss [zone]" or "yyyymmdd-hh:mm:ss" (UTC) or empty for now.
        end_date_time: String,
        /// e.g. "1 day", "5 mins", "1 hour".
        bar_size: String,
        /// e.g. "1 Y", "30 D", "3600 S".
        duration: String,
        use_rth: bool,
        what_to_show: String,
        /// 1 = "yyyymmdd[  hh:mm:ss]" strings, 2 = epoch seconds.
        format_date: i32,
        keep_up_to_date: bool,
    },
    /// cancelHistoricalData (25).
    CancelHistoricalData { req_id: ReqId },
    /// reqHeadTimestamp (87).
    ReqHeadTimestamp {
        req_id: ReqId,
        contract: Contract,
        what_to_show: String,
        use_rth: bool,
        format_date: i32,
    },
    /// cancelHeadTimestamp (90).
    CancelHeadTimestamp { req_id: ReqId },
    /// reqAccountSummary (62).
    ReqAccountSummary {
        req_id: ReqId,
        group: String,
        tags: String,
    },
    /// cancelAccountSummary (63).
    CancelAccountSummary { req_id: ReqId },
    /// reqPositions (61).
    ReqPositions,
    /// cancelPositions (64).
    CancelPositions,
    /// reqAccountUpdates (6).
    ReqAccountUpdates { subscribe: bool, account: String },
    /// reqAccountUpdatesMulti (76).
    ReqAccountUpdatesMulti {
        req_id: ReqId,
        account: String,
        model_code: String,
        ledger_and_nlv: bool,
    },
    /// cancelAccountUpdatesMulti (77).
    CancelAccountUpdatesMulti { req_id: ReqId },
    /// reqPositionsMulti (74).
    ReqPositionsMulti {
        req_id: ReqId,
        account: String,
        model_code: String,
    },
    /// cancelPositionsMulti (75).
    CancelPositionsMulti { req_id: ReqId },
    /// reqPnL (92).
    ReqPnL {
        req_id: ReqId,
        account: String,
        model_code: String,
    },
    /// cancelPnL (93).
    CancelPnL { req_id: ReqId },
    /// reqPnLSingle (94).
    ReqPnLSingle {
        req_id: ReqId,
        account: String,
        model_code: String,
        con_id: i32,
    },
    /// cancelPnLSingle (95).
    CancelPnLSingle { req_id: ReqId },
    /// placeOrder (3); an existing order id modifies the order.
    PlaceOrder {
        order_id: OrderId,
        contract: Contract,
        order: Order,
    },
    /// cancelOrder (4).
    CancelOrder {
        order_id: OrderId,
        manual_order_cancel_time: String,
    },
    /// reqGlobalCancel (58).
    ReqGlobalCancel,
    /// reqOpenOrders (5): this client's open orders.
    ReqOpenOrders,
    /// reqAllOpenOrders (16): every client's open orders.
    ReqAllOpenOrders,
    /// reqAutoOpenOrders (15): bind TWS orders to client 0.
    ReqAutoOpenOrders { auto_bind: bool },
    /// reqCompletedOrders (99).
    ReqCompletedOrders { api_only: bool },
    /// reqExecutions (7).
    ReqExecutions {
        req_id: ReqId,
        filter: ExecutionFilter,
    },
    /// reqNewsBulletins (12).
    ReqNewsBulletins { all_messages: bool },
    /// cancelNewsBulletins (13).
    CancelNewsBulletins,
    /// reqScannerParameters (24).
    ReqScannerParameters,
    /// reqScannerSubscription (22).
    ReqScannerSubscription {
        req_id: ReqId,
        subscription: ScannerSubscription,
    },
    /// cancelScannerSubscription (23).
    CancelScannerSubscription { req_id: ReqId },
    /// reqRealTimeBars (50); the bar size is always 5 seconds (clients send 5 or 0).
    ReqRealTimeBars {
        req_id: ReqId,
        contract: Contract,
        what_to_show: String,
        use_rth: bool,
    },
    /// cancelRealTimeBars (51).
    CancelRealTimeBars { req_id: ReqId },
    /// reqTickByTickData (97): tick_type "Last", "AllLast", "BidAsk" or "MidPoint".
    ReqTickByTickData {
        req_id: ReqId,
        contract: Contract,
        tick_type: String,
        number_of_ticks: i32,
        ignore_size: bool,
    },
    /// cancelTickByTickData (98).
    CancelTickByTickData { req_id: ReqId },
    /// reqMktDepth (10).
    ReqMktDepth {
        req_id: ReqId,
        contract: Contract,
        num_rows: i32,
        is_smart_depth: bool,
    },
    /// cancelMktDepth (11).
    CancelMktDepth { req_id: ReqId, is_smart_depth: bool },
    /// reqMktDepthExchanges (82).
    ReqMktDepthExchanges,
    /// reqHistoricalTicks (96). Exactly one of start/end is normally given.
    ReqHistoricalTicks {
        req_id: ReqId,
        contract: Contract,
        start_date_time: String,
        end_date_time: String,
        number_of_ticks: i32,
        /// TRADES, BID_ASK or MIDPOINT.
        what_to_show: String,
        use_rth: bool,
        ignore_size: bool,
    },
    /// cancelHistoricalTicks (107).
    CancelHistoricalTicks { req_id: ReqId },
    /// reqHistogramData (88): time_period e.g. "3 days", "1 week", "2 months".
    ReqHistogramData {
        req_id: ReqId,
        contract: Contract,
        use_rth: bool,
        time_period: String,
    },
    /// reqNewsProviders (85).
    ReqNewsProviders,
    /// reqSmartComponents (83).
    ReqSmartComponents { req_id: ReqId, bbo_exchange: String },
    /// reqFamilyCodes (80).
    ReqFamilyCodes,
    /// reqSoftDollarTiers (79).
    ReqSoftDollarTiers { req_id: ReqId },
    /// reqUserInfo (104).
    ReqUserInfo { req_id: ReqId },
    /// reqHistoricalNews (86).
    ReqHistoricalNews {
        req_id: ReqId,
        con_id: i32,
        provider_codes: String,
    },
    /// A well-formed message the simulator does not implement: answered with an error
    /// (TWS sends 10xxx-style "not supported" errors) rather than silently ignored.
    Unsupported { msg_id: i32, req_id: Option<ReqId> },
}

// ---------------------------------------------------------------------------------------------
// Responses (simulator -> client)
// ---------------------------------------------------------------------------------------------

/// A message to send to a client.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// error (4). `id` is the request/order id or -1.
    Error {
        id: i32,
        time: i64,
        code: i32,
        message: String,
        advanced_order_reject_json: String,
    },
    /// managedAccounts (15): comma-separated.
    ManagedAccounts { accounts: Vec<String> },
    /// nextValidId (9).
    NextValidId { order_id: OrderId },
    /// currentTime (49).
    CurrentTime { time: i64 },
    /// contractData (10).
    ContractData {
        req_id: ReqId,
        details: ContractDetails,
    },
    /// contractDataEnd (52).
    ContractDataEnd { req_id: ReqId },
    /// symbolSamples (79).
    SymbolSamples {
        req_id: ReqId,
        descriptions: Vec<ContractDescription>,
    },
    /// marketRule (93).
    MarketRule {
        market_rule_id: i32,
        increments: Vec<PriceIncrement>,
    },
    /// securityDefinitionOptionParameter (75).
    SecDefOptParams {
        req_id: ReqId,
        exchange: String,
        underlying_con_id: i32,
        trading_class: String,
        multiplier: String,
        expirations: Vec<String>,
        strikes: Vec<f64>,
    },
    /// securityDefinitionOptionParameterEnd (76).
    SecDefOptParamsEnd { req_id: ReqId },
    /// tickReqParams (81).
    TickReqParams {
        req_id: ReqId,
        min_tick: f64,
        bbo_exchange: String,
        snapshot_permissions: i32,
    },
    /// marketDataType (58).
    MarketDataType {
        req_id: ReqId,
        market_data_type: i32,
    },
    /// tickPrice (1). `attr_mask`: bit0 canAutoExecute, bit1 pastLimit, bit2 preOpen.
    TickPrice {
        req_id: ReqId,
        tick_type: i32,
        price: f64,
        size: Option<f64>,
        attr_mask: i32,
    },
    /// tickSize (2).
    TickSize {
        req_id: ReqId,
        tick_type: i32,
        size: f64,
    },
    /// tickString (46).
    TickString {
        req_id: ReqId,
        tick_type: i32,
        value: String,
    },
    /// tickGeneric (45).
    TickGeneric {
        req_id: ReqId,
        tick_type: i32,
        value: f64,
    },
    /// tickOptionComputation (21).
    TickOptionComputation {
        req_id: ReqId,
        tick_type: i32,
        /// 0 return-based, 1 price-based.
        tick_attrib: i32,
        implied_vol: Option<f64>,
        delta: Option<f64>,
        opt_price: Option<f64>,
        pv_dividend: Option<f64>,
        gamma: Option<f64>,
        vega: Option<f64>,
        theta: Option<f64>,
        und_price: Option<f64>,
    },
    /// tickSnapshotEnd (57).
    TickSnapshotEnd { req_id: ReqId },
    /// historicalData (17) — all bars of a request in one message.
    HistoricalData {
        req_id: ReqId,
        bars: Vec<Bar>,
        format_date: i32,
    },
    /// historicalDataEnd (108); `start`/`end` formatted "yyyymmdd hh:mm:ss zone" by the world.
    HistoricalDataEnd {
        req_id: ReqId,
        start: String,
        end: String,
    },
    /// historicalDataUpdate (90) for keepUpToDate.
    HistoricalDataUpdate {
        req_id: ReqId,
        bar: Bar,
        format_date: i32,
    },
    /// headTimestamp (88): formatted per the request's format_date.
    HeadTimestamp {
        req_id: ReqId,
        head_timestamp: String,
    },
    /// accountSummary (63).
    AccountSummary {
        req_id: ReqId,
        account: String,
        tag: String,
        value: String,
        currency: String,
    },
    /// accountSummaryEnd (64).
    AccountSummaryEnd { req_id: ReqId },
    /// position (61).
    Position {
        account: String,
        contract: Contract,
        position: f64,
        avg_cost: f64,
    },
    /// positionEnd (62).
    PositionEnd,
    /// positionMulti (71).
    PositionMulti {
        req_id: ReqId,
        account: String,
        model_code: String,
        contract: Contract,
        position: f64,
        avg_cost: f64,
    },
    /// positionMultiEnd (72).
    PositionMultiEnd { req_id: ReqId },
    /// updateAccountValue (6).
    AccountValue {
        key: String,
        value: String,
        currency: String,
        account: String,
    },
    /// updatePortfolio (7).
    PortfolioValue {
        contract: Contract,
        position: f64,
        market_price: f64,
        market_value: f64,
        average_cost: f64,
        unrealized_pnl: f64,
        realized_pnl: f64,
        account: String,
    },
    /// updateAccountTime (8): "HH:MM".
    AccountUpdateTime { time: String },
    /// accountDownloadEnd (54).
    AccountDownloadEnd { account: String },
    /// accountUpdateMulti (73).
    AccountUpdateMulti {
        req_id: ReqId,
        account: String,
        model_code: String,
        key: String,
        value: String,
        currency: String,
    },
    /// accountUpdateMultiEnd (74).
    AccountUpdateMultiEnd { req_id: ReqId },
    /// pnl (94).
    PnL {
        req_id: ReqId,
        daily_pnl: f64,
        unrealized_pnl: Option<f64>,
        realized_pnl: Option<f64>,
    },
    /// pnlSingle (95).
    PnLSingle {
        req_id: ReqId,
        position: f64,
        daily_pnl: f64,
        unrealized_pnl: Option<f64>,
        realized_pnl: Option<f64>,
        value: f64,
    },
    /// openOrder (5).
    OpenOrder {
        order_id: OrderId,
        contract: Contract,
        order: Order,
        state: OrderState,
    },
    /// openOrderEnd (53).
    OpenOrderEnd,
    /// orderStatus (3).
    OrderStatus {
        order_id: OrderId,
        status: String,
        filled: f64,
        remaining: f64,
        avg_fill_price: f64,
        perm_id: i64,
        parent_id: OrderId,
        last_fill_price: f64,
        client_id: ClientId,
        why_held: String,
        mkt_cap_price: f64,
    },
    /// completedOrder (101).
    CompletedOrder {
        contract: Contract,
        order: Order,
        state: OrderState,
    },
    /// completedOrdersEnd (102).
    CompletedOrdersEnd,
    /// execDetails (11); `req_id` is -1 for live fills.
    ExecDetails {
        req_id: ReqId,
        contract: Contract,
        execution: Execution,
    },
    /// execDetailsEnd (55).
    ExecDetailsEnd { req_id: ReqId },
    /// commissionReport (59).
    CommissionReport { report: CommissionReport },
    /// updateNewsBulletin (14). type 1 regular, 2 exchange unavailable, 3 exchange available.
    NewsBulletin {
        msg_id: i32,
        msg_type: i32,
        message: String,
        origin_exchange: String,
    },
    /// scannerParameters (19).
    ScannerParameters { xml: String },
    /// scannerData (20) with all rows, then the end marker is implied by the codec.
    ScannerData { req_id: ReqId, rows: Vec<ScanRow> },
    /// realtimeBar (50): one 5-second bar, `time` = bar start (epoch seconds).
    RealTimeBar { req_id: ReqId, bar: Bar },
    /// tickByTick (99) Last (tick_type 1) / AllLast (2).
    TickByTickLast {
        req_id: ReqId,
        tick_type: i32,
        tick: TickLast,
    },
    /// tickByTick (99) BidAsk (tick_type 3).
    TickByTickBidAsk { req_id: ReqId, tick: TickBidAsk },
    /// tickByTick (99) MidPoint (tick_type 4).
    TickByTickMidPoint { req_id: ReqId, time: i64, mid: f64 },
    /// updateMktDepth (12) when `market_maker` is None, updateMktDepthL2 (13) otherwise.
    /// operation 0 insert, 1 update, 2 delete; side 0 ask, 1 bid.
    MarketDepth {
        req_id: ReqId,
        position: i32,
        market_maker: Option<String>,
        operation: i32,
        side: i32,
        price: f64,
        size: f64,
        is_smart_depth: bool,
    },
    /// mktDepthExchanges (80).
    MktDepthExchanges { exchanges: Vec<DepthExchange> },
    /// historicalTicks (96): MIDPOINT.
    HistoricalTicks {
        req_id: ReqId,
        ticks: Vec<TickMid>,
        done: bool,
    },
    /// historicalTicksBidAsk (97).
    HistoricalTicksBidAsk {
        req_id: ReqId,
        ticks: Vec<TickBidAsk>,
        done: bool,
    },
    /// histogramData (89): (price, size) pairs.
    HistogramData {
        req_id: ReqId,
        entries: Vec<(f64, f64)>,
    },
    /// newsProviders (85): (code, name).
    NewsProviders { providers: Vec<(String, String)> },
    /// smartComponents (82): (bit number, exchange, exchange letter).
    SmartComponents {
        req_id: ReqId,
        components: Vec<(i32, String, String)>,
    },
    /// familyCodes (78): (account, family code).
    FamilyCodes { codes: Vec<(String, String)> },
    /// softDollarTiers (77): (name, value, display name).
    SoftDollarTiers {
        req_id: ReqId,
        tiers: Vec<(String, String, String)>,
    },
    /// userInfo (107).
    UserInfo {
        req_id: ReqId,
        white_branding_id: String,
    },
    /// historicalNewsEnd (87).
    HistoricalNewsEnd { req_id: ReqId, has_more: bool },
    /// historicalTicksLast (98): TRADES.
    HistoricalTicksLast {
        req_id: ReqId,
        ticks: Vec<TickLast>,
        done: bool,
    },
}

/// Standard TWS error codes the simulator uses (values and texts are IB's).
pub mod errors {
    pub const ALREADY_CONNECTED: i32 = 501;
    pub const CONNECT_FAIL: i32 = 502;
    pub const UPDATE_TWS: i32 = 503;
    pub const NOT_CONNECTED: i32 = 504;
    pub const BAD_MESSAGE: i32 = 505;
    pub const BAD_LENGTH: i32 = 507;
    pub const DUPLICATE_TICKER_ID: i32 = 322;
    pub const CLIENT_ID_IN_USE: i32 = 326;
    pub const DUPLICATE_ORDER_ID: i32 = 103;
    pub const CANNOT_FIND_ORDER: i32 = 135;
    pub const ORDER_REJECTED: i32 = 201;
    pub const ORDER_CANCELLED: i32 = 202;
    pub const NO_SECURITY_DEFINITION: i32 = 200;
    pub const INVALID_PRICE_INCREMENT: i32 = 110;
    pub const HISTORICAL_DATA_ERROR: i32 = 162;
    pub const ORDER_TO_CANCEL_NOT_FOUND: i32 = 10147;
    pub const ORDER_ALREADY_CANCELLED: i32 = 10148;
    pub const CONNECTIVITY_LOST: i32 = 1100;
    pub const CONNECTIVITY_RESTORED_DATA_LOST: i32 = 1101;
    pub const CONNECTIVITY_RESTORED_DATA_KEPT: i32 = 1102;
    pub const MARKET_DATA_FARM_BROKEN: i32 = 2103;
    pub const MARKET_DATA_FARM_OK: i32 = 2104;
    pub const HMDS_FARM_BROKEN: i32 = 2105;
    pub const HMDS_FARM_OK: i32 = 2106;
    pub const SEC_DEF_FARM_OK: i32 = 2158;
    pub const NOT_SUBSCRIBED_DELAYED: i32 = 10167;
    pub const INVALID_ORDER_TYPE: i32 = 387;
    pub const QTY_ZERO: i32 = 10015;
    pub const MAX_DEPTH_REQUESTS: i32 = 309;
    pub const CANT_FIND_DEPTH: i32 = 310;
    pub const NOT_SUBSCRIBED: i32 = 354;
    pub const MAX_TICK_BY_TICK: i32 = 10190;
    pub const DEPTH_NOT_SUPPORTED: i32 = 10092;
    pub const FUNDAMENTALS_NOT_AVAILABLE: i32 = 430;
    /// The simulator's answer to a request it does not simulate (not an IB code; chosen outside
    /// every warning range so clients fail the request at once instead of timing out).
    pub const NOT_SIMULATED: i32 = 10999;
}
