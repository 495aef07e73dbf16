//! Protobuf message structs for the TWS API (the subset the simulator speaks).
//!
//! Field tags follow IB's published `.proto` definitions (server versions 201+). Every field is
//! `optional` on the wire; fields the simulator never reads or writes are left out (prost skips
//! unknown tags when decoding). Message ids are the classic ids plus 200 on the wire.

#![allow(missing_docs)]

use std::collections::HashMap;

// ----------------------------------------------------------------------------- shared records

#[derive(Clone, PartialEq, prost::Message)]
pub struct ComboLeg {
    #[prost(int32, optional, tag = "1")]
    pub con_id: Option<i32>,
    #[prost(int32, optional, tag = "2")]
    pub ratio: Option<i32>,
    #[prost(string, optional, tag = "3")]
    pub action: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub exchange: Option<String>,
    #[prost(double, optional, tag = "9")]
    pub per_leg_price: Option<f64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Contract {
    #[prost(int32, optional, tag = "1")]
    pub con_id: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub symbol: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub sec_type: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub last_trade_date_or_contract_month: Option<String>,
    #[prost(double, optional, tag = "5")]
    pub strike: Option<f64>,
    #[prost(string, optional, tag = "6")]
    pub right: Option<String>,
    #[prost(double, optional, tag = "7")]
    pub multiplier: Option<f64>,
    #[prost(string, optional, tag = "8")]
    pub exchange: Option<String>,
    #[prost(string, optional, tag = "9")]
    pub primary_exch: Option<String>,
    #[prost(string, optional, tag = "10")]
    pub currency: Option<String>,
    #[prost(string, optional, tag = "11")]
    pub local_symbol: Option<String>,
    #[prost(string, optional, tag = "12")]
    pub trading_class: Option<String>,
    #[prost(string, optional, tag = "13")]
    pub sec_id_type: Option<String>,
    #[prost(string, optional, tag = "14")]
    pub sec_id: Option<String>,
    #[prost(string, optional, tag = "15")]
    pub description: Option<String>,
    #[prost(bool, optional, tag = "18")]
    pub include_expired: Option<bool>,
    #[prost(string, optional, tag = "19")]
    pub combo_legs_descrip: Option<String>,
    #[prost(message, repeated, tag = "20")]
    pub combo_legs: Vec<ComboLeg>,
    #[prost(string, optional, tag = "21")]
    pub last_trade_date: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ContractDetails {
    #[prost(string, optional, tag = "1")]
    pub market_name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub min_tick: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub order_types: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub valid_exchanges: Option<String>,
    #[prost(int32, optional, tag = "5")]
    pub price_magnifier: Option<i32>,
    #[prost(int32, optional, tag = "6")]
    pub under_con_id: Option<i32>,
    #[prost(string, optional, tag = "7")]
    pub long_name: Option<String>,
    #[prost(string, optional, tag = "8")]
    pub contract_month: Option<String>,
    #[prost(string, optional, tag = "9")]
    pub industry: Option<String>,
    #[prost(string, optional, tag = "10")]
    pub category: Option<String>,
    #[prost(string, optional, tag = "11")]
    pub subcategory: Option<String>,
    #[prost(string, optional, tag = "12")]
    pub time_zone_id: Option<String>,
    #[prost(string, optional, tag = "13")]
    pub trading_hours: Option<String>,
    #[prost(string, optional, tag = "14")]
    pub liquid_hours: Option<String>,
    #[prost(string, optional, tag = "15")]
    pub ev_rule: Option<String>,
    #[prost(double, optional, tag = "16")]
    pub ev_multiplier: Option<f64>,
    #[prost(map = "string, string", tag = "17")]
    pub sec_id_list: HashMap<String, String>,
    #[prost(int32, optional, tag = "18")]
    pub agg_group: Option<i32>,
    #[prost(string, optional, tag = "19")]
    pub under_symbol: Option<String>,
    #[prost(string, optional, tag = "20")]
    pub under_sec_type: Option<String>,
    #[prost(string, optional, tag = "21")]
    pub market_rule_ids: Option<String>,
    #[prost(string, optional, tag = "22")]
    pub real_expiration_date: Option<String>,
    #[prost(string, optional, tag = "23")]
    pub stock_type: Option<String>,
    #[prost(string, optional, tag = "24")]
    pub min_size: Option<String>,
    #[prost(string, optional, tag = "25")]
    pub size_increment: Option<String>,
    #[prost(string, optional, tag = "26")]
    pub suggested_size_increment: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Order {
    #[prost(int32, optional, tag = "1")]
    pub client_id: Option<i32>,
    #[prost(int32, optional, tag = "2")]
    pub order_id: Option<i32>,
    #[prost(int64, optional, tag = "3")]
    pub perm_id: Option<i64>,
    #[prost(int32, optional, tag = "4")]
    pub parent_id: Option<i32>,
    #[prost(string, optional, tag = "5")]
    pub action: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub total_quantity: Option<String>,
    #[prost(string, optional, tag = "8")]
    pub order_type: Option<String>,
    #[prost(double, optional, tag = "9")]
    pub lmt_price: Option<f64>,
    #[prost(double, optional, tag = "10")]
    pub aux_price: Option<f64>,
    #[prost(string, optional, tag = "11")]
    pub tif: Option<String>,
    #[prost(string, optional, tag = "12")]
    pub account: Option<String>,
    #[prost(bool, optional, tag = "16")]
    pub all_or_none: Option<bool>,
    #[prost(bool, optional, tag = "18")]
    pub hidden: Option<bool>,
    #[prost(bool, optional, tag = "19")]
    pub outside_rth: Option<bool>,
    #[prost(double, optional, tag = "22")]
    pub trailing_percent: Option<f64>,
    #[prost(double, optional, tag = "23")]
    pub trail_stop_price: Option<f64>,
    #[prost(int32, optional, tag = "24")]
    pub min_qty: Option<i32>,
    #[prost(string, optional, tag = "25")]
    pub good_after_time: Option<String>,
    #[prost(string, optional, tag = "26")]
    pub good_till_date: Option<String>,
    #[prost(string, optional, tag = "27")]
    pub oca_group: Option<String>,
    #[prost(string, optional, tag = "28")]
    pub order_ref: Option<String>,
    #[prost(int32, optional, tag = "30")]
    pub oca_type: Option<i32>,
    #[prost(string, optional, tag = "61")]
    pub algo_strategy: Option<String>,
    #[prost(map = "string, string", tag = "62")]
    pub algo_params: HashMap<String, String>,
    #[prost(map = "string, string", tag = "64")]
    pub smart_combo_routing_params: HashMap<String, String>,
    #[prost(bool, optional, tag = "65")]
    pub what_if: Option<bool>,
    #[prost(bool, optional, tag = "66")]
    pub transmit: Option<bool>,
    #[prost(string, optional, tag = "115")]
    pub filled_quantity: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct OrderState {
    #[prost(string, optional, tag = "1")]
    pub status: Option<String>,
    #[prost(double, optional, tag = "2")]
    pub init_margin_before: Option<f64>,
    #[prost(double, optional, tag = "3")]
    pub maint_margin_before: Option<f64>,
    #[prost(double, optional, tag = "4")]
    pub equity_with_loan_before: Option<f64>,
    #[prost(double, optional, tag = "5")]
    pub init_margin_change: Option<f64>,
    #[prost(double, optional, tag = "6")]
    pub maint_margin_change: Option<f64>,
    #[prost(double, optional, tag = "7")]
    pub equity_with_loan_change: Option<f64>,
    #[prost(double, optional, tag = "8")]
    pub init_margin_after: Option<f64>,
    #[prost(double, optional, tag = "9")]
    pub maint_margin_after: Option<f64>,
    #[prost(double, optional, tag = "10")]
    pub equity_with_loan_after: Option<f64>,
    #[prost(double, optional, tag = "11")]
    pub commission_and_fees: Option<f64>,
    #[prost(double, optional, tag = "12")]
    pub min_commission_and_fees: Option<f64>,
    #[prost(double, optional, tag = "13")]
    pub max_commission_and_fees: Option<f64>,
    #[prost(string, optional, tag = "14")]
    pub commission_and_fees_currency: Option<String>,
    #[prost(string, optional, tag = "15")]
    pub margin_currency: Option<String>,
    #[prost(string, optional, tag = "28")]
    pub warning_text: Option<String>,
    #[prost(string, optional, tag = "29")]
    pub completed_time: Option<String>,
    #[prost(string, optional, tag = "30")]
    pub completed_status: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Execution {
    #[prost(int32, optional, tag = "1")]
    pub order_id: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub exec_id: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub time: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub acct_number: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub exchange: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub side: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub shares: Option<String>,
    #[prost(double, optional, tag = "8")]
    pub price: Option<f64>,
    #[prost(int64, optional, tag = "9")]
    pub perm_id: Option<i64>,
    #[prost(int32, optional, tag = "10")]
    pub client_id: Option<i32>,
    #[prost(bool, optional, tag = "11")]
    pub is_liquidation: Option<bool>,
    #[prost(string, optional, tag = "12")]
    pub cum_qty: Option<String>,
    #[prost(double, optional, tag = "13")]
    pub avg_price: Option<f64>,
    #[prost(string, optional, tag = "14")]
    pub order_ref: Option<String>,
    #[prost(string, optional, tag = "15")]
    pub ev_rule: Option<String>,
    #[prost(double, optional, tag = "16")]
    pub ev_multiplier: Option<f64>,
    #[prost(string, optional, tag = "17")]
    pub model_code: Option<String>,
    #[prost(int32, optional, tag = "18")]
    pub last_liquidity: Option<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ExecutionFilter {
    #[prost(int32, optional, tag = "1")]
    pub client_id: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub acct_code: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub time: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub symbol: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub sec_type: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub exchange: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub side: Option<String>,
    #[prost(int32, optional, tag = "8")]
    pub last_n_days: Option<i32>,
    #[prost(int32, repeated, packed = "false", tag = "9")]
    pub specific_dates: Vec<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ScannerSubscription {
    #[prost(int32, optional, tag = "1")]
    pub number_of_rows: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub instrument: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub location_code: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub scan_code: Option<String>,
    #[prost(double, optional, tag = "5")]
    pub above_price: Option<f64>,
    #[prost(double, optional, tag = "6")]
    pub below_price: Option<f64>,
    #[prost(int64, optional, tag = "7")]
    pub above_volume: Option<i64>,
    #[prost(double, optional, tag = "8")]
    pub market_cap_above: Option<f64>,
    #[prost(double, optional, tag = "9")]
    pub market_cap_below: Option<f64>,
    #[prost(string, optional, tag = "21")]
    pub stock_type_filter: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct OrderCancel {
    #[prost(string, optional, tag = "1")]
    pub manual_order_cancel_time: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AttachedOrders {
    #[prost(int32, optional, tag = "1")]
    pub sl_order_id: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub sl_order_type: Option<String>,
    #[prost(int32, optional, tag = "3")]
    pub pt_order_id: Option<i32>,
    #[prost(string, optional, tag = "4")]
    pub pt_order_type: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HistoricalDataBar {
    #[prost(string, optional, tag = "1")]
    pub date: Option<String>,
    #[prost(double, optional, tag = "2")]
    pub open: Option<f64>,
    #[prost(double, optional, tag = "3")]
    pub high: Option<f64>,
    #[prost(double, optional, tag = "4")]
    pub low: Option<f64>,
    #[prost(double, optional, tag = "5")]
    pub close: Option<f64>,
    #[prost(string, optional, tag = "6")]
    pub volume: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub wap: Option<String>,
    #[prost(int32, optional, tag = "8")]
    pub bar_count: Option<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PriceIncrement {
    #[prost(double, optional, tag = "1")]
    pub low_edge: Option<f64>,
    #[prost(double, optional, tag = "2")]
    pub increment: Option<f64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ContractDescription {
    #[prost(message, optional, tag = "1")]
    pub contract: Option<Contract>,
    #[prost(string, repeated, tag = "2")]
    pub derivative_sec_types: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ScannerDataElement {
    #[prost(int32, optional, tag = "1")]
    pub rank: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(string, optional, tag = "3")]
    pub market_name: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub distance: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub benchmark: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub projection: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub combo_key: Option<String>,
}

// ----------------------------------------------------------------------------- small messages

/// Defines simple messages whose fields are all scalar: `name { field: type = tag, ... }`.
macro_rules! simple_messages {
    ($( $name:ident { $( $field:ident : $kind:ident = $tag:literal ),* $(,)? } )*) => {$(
        #[derive(Clone, PartialEq, prost::Message)]
        pub struct $name {
            $(
                #[prost($kind, optional, tag = $tag)]
                pub $field: Option<simple_messages!(@ty $kind)>,
            )*
        }
    )*};
    (@ty int32) => { i32 };
    (@ty int64) => { i64 };
    (@ty double) => { f64 };
    (@ty bool) => { bool };
    (@ty string) => { String };
}

// Requests (client -> server).
simple_messages! {
    StartApiRequest { client_id: int32 = "1", optional_capabilities: string = "2" }
    IdsRequest { num_ids: int32 = "1" }
    Empty {}
    ReqIdOnly { req_id: int32 = "1" }
    MatchingSymbolsRequest { req_id: int32 = "1", pattern: string = "2" }
    MarketRuleRequest { market_rule_id: int32 = "1" }
    SecDefOptParamsRequest {
        req_id: int32 = "1", underlying_symbol: string = "2", fut_fop_exchange: string = "3",
        underlying_sec_type: string = "4", underlying_con_id: int32 = "5"
    }
    MarketDataTypeRequest { market_data_type: int32 = "1" }
    AccountSummaryRequest { req_id: int32 = "1", group: string = "2", tags: string = "3" }
    AccountDataRequest { subscribe: bool = "1", acct_code: string = "2" }
    AccountUpdatesMultiRequest {
        req_id: int32 = "1", account: string = "2", model_code: string = "3", ledger_and_nlv: bool = "4"
    }
    PositionsMultiRequest { req_id: int32 = "1", account: string = "2", model_code: string = "3" }
    PnLRequest { req_id: int32 = "1", account: string = "2", model_code: string = "3" }
    PnLSingleRequest { req_id: int32 = "1", account: string = "2", model_code: string = "3", con_id: int32 = "4" }
    AutoOpenOrdersRequest { auto_bind: bool = "1" }
    CompletedOrdersRequest { api_only: bool = "1" }
    NewsBulletinsRequest { all_messages: bool = "1" }
}

// Responses (server -> client).
simple_messages! {
    ErrorMessage {
        id: int32 = "1", error_time: int64 = "2", error_code: int32 = "3", error_msg: string = "4",
        advanced_order_reject_json: string = "5"
    }
    ManagedAccounts { accounts_list: string = "1" }
    NextValidId { order_id: int32 = "1" }
    CurrentTime { current_time: int64 = "1" }
    TickReqParams {
        req_id: int32 = "1", min_tick: string = "2", bbo_exchange: string = "3", snapshot_permissions: int32 = "4"
    }
    MarketDataType { req_id: int32 = "1", market_data_type: int32 = "2" }
    TickPrice { req_id: int32 = "1", tick_type: int32 = "2", price: double = "3", size: string = "4", attr_mask: int32 = "5" }
    TickSize { req_id: int32 = "1", tick_type: int32 = "2", size: string = "3" }
    TickString { req_id: int32 = "1", tick_type: int32 = "2", value: string = "3" }
    TickGeneric { req_id: int32 = "1", tick_type: int32 = "2", value: double = "3" }
    TickOptionComputation {
        req_id: int32 = "1", tick_type: int32 = "2", tick_attrib: int32 = "3", implied_vol: double = "4",
        delta: double = "5", opt_price: double = "6", pv_dividend: double = "7", gamma: double = "8",
        vega: double = "9", theta: double = "10", und_price: double = "11"
    }
    HistoricalDataEnd { req_id: int32 = "1", start_date_str: string = "2", end_date_str: string = "3" }
    HeadTimestamp { req_id: int32 = "1", head_timestamp: string = "2" }
    AccountSummary { req_id: int32 = "1", account: string = "2", tag: string = "3", value: string = "4", currency: string = "5" }
    AccountValue { key: string = "1", value: string = "2", currency: string = "3", account_name: string = "4" }
    AccountUpdateTime { time_stamp: string = "1" }
    AccountDataEnd { account_name: string = "1" }
    AccountUpdateMulti {
        req_id: int32 = "1", account: string = "2", model_code: string = "3", key: string = "4",
        value: string = "5", currency: string = "6"
    }
    PnL { req_id: int32 = "1", daily_pnl: double = "2", unrealized_pnl: double = "3", realized_pnl: double = "4" }
    PnLSingle {
        req_id: int32 = "1", position: string = "2", daily_pnl: double = "3", unrealized_pnl: double = "4",
        realized_pnl: double = "5", value: double = "6"
    }
    OrderStatus {
        order_id: int32 = "1", status: string = "2", filled: string = "3", remaining: string = "4",
        avg_fill_price: double = "5", perm_id: int64 = "6", parent_id: int32 = "7", last_fill_price: double = "8",
        client_id: int32 = "9", why_held: string = "10", mkt_cap_price: double = "11"
    }
    CommissionAndFeesReport {
        exec_id: string = "1", commission_and_fees: double = "2", currency: string = "3", realized_pnl: double = "4",
        bond_yield: double = "5", yield_redemption_date: string = "6"
    }
    NewsBulletin { news_msg_id: int32 = "1", news_msg_type: int32 = "2", news_message: string = "3", originating_exch: string = "4" }
    ScannerParameters { xml: string = "1" }
}

// ----------------------------------------------------------------------------- composite messages

#[derive(Clone, PartialEq, prost::Message)]
pub struct ContractDataRequest {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MarketDataRequest {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(string, optional, tag = "3")]
    pub generic_tick_list: Option<String>,
    #[prost(bool, optional, tag = "4")]
    pub snapshot: Option<bool>,
    #[prost(bool, optional, tag = "5")]
    pub regulatory_snapshot: Option<bool>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HistoricalDataRequest {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(string, optional, tag = "3")]
    pub end_date_time: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub bar_size_setting: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub duration: Option<String>,
    #[prost(bool, optional, tag = "6")]
    pub use_rth: Option<bool>,
    #[prost(string, optional, tag = "7")]
    pub what_to_show: Option<String>,
    #[prost(int32, optional, tag = "8")]
    pub format_date: Option<i32>,
    #[prost(bool, optional, tag = "9")]
    pub keep_up_to_date: Option<bool>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HeadTimestampRequest {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(bool, optional, tag = "3")]
    pub use_rth: Option<bool>,
    #[prost(string, optional, tag = "4")]
    pub what_to_show: Option<String>,
    #[prost(int32, optional, tag = "5")]
    pub format_date: Option<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PlaceOrderRequest {
    #[prost(int32, optional, tag = "1")]
    pub order_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(message, optional, tag = "3")]
    pub order: Option<Order>,
    #[prost(message, optional, tag = "4")]
    pub attached_orders: Option<AttachedOrders>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CancelOrderRequest {
    #[prost(int32, optional, tag = "1")]
    pub order_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub order_cancel: Option<OrderCancel>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GlobalCancelRequest {
    #[prost(message, optional, tag = "1")]
    pub order_cancel: Option<OrderCancel>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ExecutionRequest {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub execution_filter: Option<ExecutionFilter>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ScannerSubscriptionRequest {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub scanner_subscription: Option<ScannerSubscription>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ContractData {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(message, optional, tag = "3")]
    pub contract_details: Option<ContractDetails>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SymbolSamples {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, repeated, tag = "2")]
    pub contract_descriptions: Vec<ContractDescription>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MarketRule {
    #[prost(int32, optional, tag = "1")]
    pub market_rule_id: Option<i32>,
    #[prost(message, repeated, tag = "2")]
    pub price_increments: Vec<PriceIncrement>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SecDefOptParameter {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub exchange: Option<String>,
    #[prost(int32, optional, tag = "3")]
    pub underlying_con_id: Option<i32>,
    #[prost(string, optional, tag = "4")]
    pub trading_class: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub multiplier: Option<String>,
    #[prost(string, repeated, tag = "6")]
    pub expirations: Vec<String>,
    #[prost(double, repeated, tag = "7")]
    pub strikes: Vec<f64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HistoricalData {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, repeated, tag = "2")]
    pub historical_data_bars: Vec<HistoricalDataBar>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HistoricalDataUpdate {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub historical_data_bar: Option<HistoricalDataBar>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Position {
    #[prost(string, optional, tag = "1")]
    pub account: Option<String>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(string, optional, tag = "3")]
    pub position: Option<String>,
    #[prost(double, optional, tag = "4")]
    pub avg_cost: Option<f64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PositionMulti {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub account: Option<String>,
    #[prost(message, optional, tag = "3")]
    pub contract: Option<Contract>,
    #[prost(string, optional, tag = "4")]
    pub position: Option<String>,
    #[prost(double, optional, tag = "5")]
    pub avg_cost: Option<f64>,
    #[prost(string, optional, tag = "6")]
    pub model_code: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PortfolioValue {
    #[prost(message, optional, tag = "1")]
    pub contract: Option<Contract>,
    #[prost(string, optional, tag = "2")]
    pub position: Option<String>,
    #[prost(double, optional, tag = "3")]
    pub market_price: Option<f64>,
    #[prost(double, optional, tag = "4")]
    pub market_value: Option<f64>,
    #[prost(double, optional, tag = "5")]
    pub average_cost: Option<f64>,
    #[prost(double, optional, tag = "6")]
    pub unrealized_pnl: Option<f64>,
    #[prost(double, optional, tag = "7")]
    pub realized_pnl: Option<f64>,
    #[prost(string, optional, tag = "8")]
    pub account_name: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct OpenOrder {
    #[prost(int32, optional, tag = "1")]
    pub order_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(message, optional, tag = "3")]
    pub order: Option<Order>,
    #[prost(message, optional, tag = "4")]
    pub order_state: Option<OrderState>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CompletedOrder {
    #[prost(message, optional, tag = "1")]
    pub contract: Option<Contract>,
    #[prost(message, optional, tag = "2")]
    pub order: Option<Order>,
    #[prost(message, optional, tag = "3")]
    pub order_state: Option<OrderState>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ExecutionDetails {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(message, optional, tag = "3")]
    pub execution: Option<Execution>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ScannerData {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, repeated, tag = "2")]
    pub scanner_data_element: Vec<ScannerDataElement>,
}

// ----------------------------------------------------------------------------- streams

#[derive(Clone, PartialEq, prost::Message)]
pub struct RealTimeBarsRequest {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(int32, optional, tag = "3")]
    pub bar_size: Option<i32>,
    #[prost(string, optional, tag = "4")]
    pub what_to_show: Option<String>,
    #[prost(bool, optional, tag = "5")]
    pub use_rth: Option<bool>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RealTimeBarTick {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(int64, optional, tag = "2")]
    pub time: Option<i64>,
    #[prost(double, optional, tag = "3")]
    pub open: Option<f64>,
    #[prost(double, optional, tag = "4")]
    pub high: Option<f64>,
    #[prost(double, optional, tag = "5")]
    pub low: Option<f64>,
    #[prost(double, optional, tag = "6")]
    pub close: Option<f64>,
    #[prost(string, optional, tag = "7")]
    pub volume: Option<String>,
    #[prost(string, optional, tag = "8")]
    pub wap: Option<String>,
    #[prost(int32, optional, tag = "9")]
    pub count: Option<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TickByTickRequest {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(string, optional, tag = "3")]
    pub tick_type: Option<String>,
    #[prost(int32, optional, tag = "4")]
    pub number_of_ticks: Option<i32>,
    #[prost(bool, optional, tag = "5")]
    pub ignore_size: Option<bool>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TickAttribLast {
    #[prost(bool, optional, tag = "1")]
    pub past_limit: Option<bool>,
    #[prost(bool, optional, tag = "2")]
    pub unreported: Option<bool>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TickAttribBidAsk {
    #[prost(bool, optional, tag = "1")]
    pub bid_past_low: Option<bool>,
    #[prost(bool, optional, tag = "2")]
    pub ask_past_high: Option<bool>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HistoricalTick {
    #[prost(int64, optional, tag = "1")]
    pub time: Option<i64>,
    #[prost(double, optional, tag = "2")]
    pub price: Option<f64>,
    #[prost(string, optional, tag = "3")]
    pub size: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HistoricalTickBidAsk {
    #[prost(int64, optional, tag = "1")]
    pub time: Option<i64>,
    #[prost(message, optional, tag = "2")]
    pub tick_attrib_bid_ask: Option<TickAttribBidAsk>,
    #[prost(double, optional, tag = "3")]
    pub price_bid: Option<f64>,
    #[prost(double, optional, tag = "4")]
    pub price_ask: Option<f64>,
    #[prost(string, optional, tag = "5")]
    pub size_bid: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub size_ask: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HistoricalTickLast {
    #[prost(int64, optional, tag = "1")]
    pub time: Option<i64>,
    #[prost(message, optional, tag = "2")]
    pub tick_attrib_last: Option<TickAttribLast>,
    #[prost(double, optional, tag = "3")]
    pub price: Option<f64>,
    #[prost(string, optional, tag = "4")]
    pub size: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub exchange: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub special_conditions: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TickByTickData {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(int32, optional, tag = "2")]
    pub tick_type: Option<i32>,
    #[prost(oneof = "tick_by_tick_data::Tick", tags = "3, 4, 5")]
    pub tick: Option<tick_by_tick_data::Tick>,
}

pub mod tick_by_tick_data {
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Tick {
        #[prost(message, tag = "3")]
        Last(super::HistoricalTickLast),
        #[prost(message, tag = "4")]
        BidAsk(super::HistoricalTickBidAsk),
        #[prost(message, tag = "5")]
        MidPoint(super::HistoricalTick),
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MarketDepthRequest {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(int32, optional, tag = "3")]
    pub num_rows: Option<i32>,
    #[prost(bool, optional, tag = "4")]
    pub is_smart_depth: Option<bool>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CancelMarketDepth {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(bool, optional, tag = "2")]
    pub is_smart_depth: Option<bool>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MarketDepthData {
    #[prost(int32, optional, tag = "1")]
    pub position: Option<i32>,
    #[prost(int32, optional, tag = "2")]
    pub operation: Option<i32>,
    #[prost(int32, optional, tag = "3")]
    pub side: Option<i32>,
    #[prost(double, optional, tag = "4")]
    pub price: Option<f64>,
    #[prost(string, optional, tag = "5")]
    pub size: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub market_maker: Option<String>,
    #[prost(bool, optional, tag = "7")]
    pub is_smart_depth: Option<bool>,
}

/// Both MarketDepth (12) and MarketDepthL2 (13) have this shape.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MarketDepth {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub market_depth_data: Option<MarketDepthData>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct DepthMarketDataDescription {
    #[prost(string, optional, tag = "1")]
    pub exchange: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub sec_type: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub listing_exch: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub service_data_type: Option<String>,
    #[prost(int32, optional, tag = "5")]
    pub agg_group: Option<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MarketDepthExchanges {
    #[prost(message, repeated, tag = "1")]
    pub depth_market_data_descriptions: Vec<DepthMarketDataDescription>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HistoricalTicksRequest {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(string, optional, tag = "3")]
    pub start_date_time: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub end_date_time: Option<String>,
    #[prost(int32, optional, tag = "5")]
    pub number_of_ticks: Option<i32>,
    #[prost(string, optional, tag = "6")]
    pub what_to_show: Option<String>,
    #[prost(bool, optional, tag = "7")]
    pub use_rth: Option<bool>,
    #[prost(bool, optional, tag = "8")]
    pub ignore_size: Option<bool>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HistoricalTicks {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, repeated, tag = "2")]
    pub historical_ticks: Vec<HistoricalTick>,
    #[prost(bool, optional, tag = "3")]
    pub is_done: Option<bool>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HistoricalTicksBidAsk {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, repeated, tag = "2")]
    pub historical_ticks_bid_ask: Vec<HistoricalTickBidAsk>,
    #[prost(bool, optional, tag = "3")]
    pub is_done: Option<bool>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HistoricalTicksLast {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, repeated, tag = "2")]
    pub historical_ticks_last: Vec<HistoricalTickLast>,
    #[prost(bool, optional, tag = "3")]
    pub is_done: Option<bool>,
}

// ----------------------------------------------------------------------------- reference extras

#[derive(Clone, PartialEq, prost::Message)]
pub struct HistogramDataRequest {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(bool, optional, tag = "3")]
    pub use_rth: Option<bool>,
    #[prost(string, optional, tag = "4")]
    pub time_period: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HistogramDataEntry {
    #[prost(double, optional, tag = "1")]
    pub price: Option<f64>,
    #[prost(string, optional, tag = "2")]
    pub size: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HistogramData {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, repeated, tag = "2")]
    pub histogram_data_entries: Vec<HistogramDataEntry>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct NewsProvider {
    #[prost(string, optional, tag = "1")]
    pub provider_code: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub provider_name: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct NewsProviders {
    #[prost(message, repeated, tag = "1")]
    pub news_providers: Vec<NewsProvider>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SmartComponentsRequest {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub bbo_exchange: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SmartComponent {
    #[prost(int32, optional, tag = "1")]
    pub bit_number: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub exchange: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub exchange_letter: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SmartComponents {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, repeated, tag = "2")]
    pub smart_components: Vec<SmartComponent>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct FamilyCode {
    #[prost(string, optional, tag = "1")]
    pub account_id: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub family_code: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct FamilyCodes {
    #[prost(message, repeated, tag = "1")]
    pub family_codes: Vec<FamilyCode>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SoftDollarTier {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub display_name: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SoftDollarTiers {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, repeated, tag = "2")]
    pub soft_dollar_tiers: Vec<SoftDollarTier>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct UserInfo {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub white_branding_id: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HistoricalNewsRequest {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(int32, optional, tag = "2")]
    pub con_id: Option<i32>,
    #[prost(string, optional, tag = "3")]
    pub provider_codes: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HistoricalNewsEnd {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(bool, optional, tag = "2")]
    pub has_more: Option<bool>,
}
