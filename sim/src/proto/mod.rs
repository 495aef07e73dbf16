//! Protobuf codec (server versions 213..=226) for `ibapi` 5.x and other modern clients.
//!
//! Frame body layout (both directions): `[i32 BE msg id][payload]`. Protobuf payloads carry
//! `classic id + 200`; ids `<= 200` would be NUL-separated text, which protobuf-era clients do not
//! send for any message the simulator implements (they are answered as unsupported).
//!
//! Quirks honoured (see `/work/shared/notes/tws-protocol.md`): sizes, quantities and positions are
//! decimal *strings*; `Contract.multiplier` is a double; "unset" doubles are omitted.

pub mod messages;

use crate::api::{self, Request, Response};
use crate::wire::{Codec, DecodeError, PROTOBUF_MSG_ID_OFFSET, put_frame};
use messages as pb;
use prost::Message;

/// Classic message ids of client requests.
mod out_ids {
    pub const REQ_MKT_DATA: i32 = 1;
    pub const CANCEL_MKT_DATA: i32 = 2;
    pub const PLACE_ORDER: i32 = 3;
    pub const CANCEL_ORDER: i32 = 4;
    pub const REQ_OPEN_ORDERS: i32 = 5;
    pub const REQ_ACCOUNT_DATA: i32 = 6;
    pub const REQ_EXECUTIONS: i32 = 7;
    pub const REQ_IDS: i32 = 8;
    pub const REQ_CONTRACT_DATA: i32 = 9;
    pub const REQ_NEWS_BULLETINS: i32 = 12;
    pub const CANCEL_NEWS_BULLETINS: i32 = 13;
    pub const REQ_AUTO_OPEN_ORDERS: i32 = 15;
    pub const REQ_ALL_OPEN_ORDERS: i32 = 16;
    pub const REQ_MANAGED_ACCTS: i32 = 17;
    pub const REQ_HISTORICAL_DATA: i32 = 20;
    pub const REQ_SCANNER_SUBSCRIPTION: i32 = 22;
    pub const CANCEL_SCANNER_SUBSCRIPTION: i32 = 23;
    pub const REQ_SCANNER_PARAMETERS: i32 = 24;
    pub const CANCEL_HISTORICAL_DATA: i32 = 25;
    pub const REQ_CURRENT_TIME: i32 = 49;
    pub const REQ_GLOBAL_CANCEL: i32 = 58;
    pub const REQ_MARKET_DATA_TYPE: i32 = 59;
    pub const REQ_POSITIONS: i32 = 61;
    pub const REQ_ACCOUNT_SUMMARY: i32 = 62;
    pub const CANCEL_ACCOUNT_SUMMARY: i32 = 63;
    pub const CANCEL_POSITIONS: i32 = 64;
    pub const START_API: i32 = 71;
    pub const REQ_POSITIONS_MULTI: i32 = 74;
    pub const CANCEL_POSITIONS_MULTI: i32 = 75;
    pub const REQ_ACCOUNT_UPDATES_MULTI: i32 = 76;
    pub const CANCEL_ACCOUNT_UPDATES_MULTI: i32 = 77;
    pub const REQ_SEC_DEF_OPT_PARAMS: i32 = 78;
    pub const REQ_MATCHING_SYMBOLS: i32 = 81;
    pub const REQ_HEAD_TIMESTAMP: i32 = 87;
    pub const CANCEL_HEAD_TIMESTAMP: i32 = 90;
    pub const REQ_MARKET_RULE: i32 = 91;
    pub const REQ_PNL: i32 = 92;
    pub const CANCEL_PNL: i32 = 93;
    pub const REQ_PNL_SINGLE: i32 = 94;
    pub const CANCEL_PNL_SINGLE: i32 = 95;
    pub const REQ_COMPLETED_ORDERS: i32 = 99;
    pub const REQ_MKT_DEPTH: i32 = 10;
    pub const CANCEL_MKT_DEPTH: i32 = 11;
    pub const REQ_REAL_TIME_BARS: i32 = 50;
    pub const CANCEL_REAL_TIME_BARS: i32 = 51;
    pub const REQ_MKT_DEPTH_EXCHANGES: i32 = 82;
    pub const REQ_HISTORICAL_TICKS: i32 = 96;
    pub const REQ_TICK_BY_TICK_DATA: i32 = 97;
    pub const CANCEL_TICK_BY_TICK_DATA: i32 = 98;
    pub const CANCEL_HISTORICAL_TICKS: i32 = 107;
    pub const REQ_SOFT_DOLLAR_TIERS: i32 = 79;
    pub const REQ_FAMILY_CODES: i32 = 80;
    pub const REQ_SMART_COMPONENTS: i32 = 83;
    pub const REQ_NEWS_PROVIDERS: i32 = 85;
    pub const REQ_HISTORICAL_NEWS: i32 = 86;
    pub const REQ_HISTOGRAM_DATA: i32 = 88;
    pub const REQ_USER_INFO: i32 = 104;
    /// Highest request id defined by the protocol (UpdateConfig).
    pub const MAX_KNOWN: i32 = 109;
    /// Ids in 1..=MAX_KNOWN that the protocol does not define.
    pub fn is_defined(id: i32) -> bool {
        (1..=MAX_KNOWN).contains(&id) && !(26..=48).contains(&id) && id != 60
    }
}

/// Classic message ids of server messages.
pub mod in_ids {
    pub const TICK_PRICE: i32 = 1;
    pub const TICK_SIZE: i32 = 2;
    pub const ORDER_STATUS: i32 = 3;
    pub const ERROR: i32 = 4;
    pub const OPEN_ORDER: i32 = 5;
    pub const ACCOUNT_VALUE: i32 = 6;
    pub const PORTFOLIO_VALUE: i32 = 7;
    pub const ACCOUNT_UPDATE_TIME: i32 = 8;
    pub const NEXT_VALID_ID: i32 = 9;
    pub const CONTRACT_DATA: i32 = 10;
    pub const EXECUTION_DATA: i32 = 11;
    pub const NEWS_BULLETIN: i32 = 14;
    pub const MANAGED_ACCOUNTS: i32 = 15;
    pub const HISTORICAL_DATA: i32 = 17;
    pub const SCANNER_PARAMETERS: i32 = 19;
    pub const SCANNER_DATA: i32 = 20;
    pub const TICK_OPTION_COMPUTATION: i32 = 21;
    pub const TICK_GENERIC: i32 = 45;
    pub const TICK_STRING: i32 = 46;
    pub const CURRENT_TIME: i32 = 49;
    pub const CONTRACT_DATA_END: i32 = 52;
    pub const OPEN_ORDER_END: i32 = 53;
    pub const ACCOUNT_DOWNLOAD_END: i32 = 54;
    pub const EXECUTION_DATA_END: i32 = 55;
    pub const TICK_SNAPSHOT_END: i32 = 57;
    pub const MARKET_DATA_TYPE: i32 = 58;
    pub const COMMISSION_REPORT: i32 = 59;
    pub const POSITION: i32 = 61;
    pub const POSITION_END: i32 = 62;
    pub const ACCOUNT_SUMMARY: i32 = 63;
    pub const ACCOUNT_SUMMARY_END: i32 = 64;
    pub const POSITION_MULTI: i32 = 71;
    pub const POSITION_MULTI_END: i32 = 72;
    pub const ACCOUNT_UPDATE_MULTI: i32 = 73;
    pub const ACCOUNT_UPDATE_MULTI_END: i32 = 74;
    pub const SEC_DEF_OPT_PARAM: i32 = 75;
    pub const SEC_DEF_OPT_PARAM_END: i32 = 76;
    pub const SYMBOL_SAMPLES: i32 = 79;
    pub const TICK_REQ_PARAMS: i32 = 81;
    pub const HEAD_TIMESTAMP: i32 = 88;
    pub const HISTORICAL_DATA_UPDATE: i32 = 90;
    pub const MARKET_RULE: i32 = 93;
    pub const PNL: i32 = 94;
    pub const PNL_SINGLE: i32 = 95;
    pub const COMPLETED_ORDER: i32 = 101;
    pub const COMPLETED_ORDERS_END: i32 = 102;
    pub const HISTORICAL_DATA_END: i32 = 108;
    pub const MARKET_DEPTH: i32 = 12;
    pub const MARKET_DEPTH_L2: i32 = 13;
    pub const REAL_TIME_BARS: i32 = 50;
    pub const MKT_DEPTH_EXCHANGES: i32 = 80;
    pub const HISTORICAL_TICKS: i32 = 96;
    pub const HISTORICAL_TICKS_BID_ASK: i32 = 97;
    pub const HISTORICAL_TICKS_LAST: i32 = 98;
    pub const TICK_BY_TICK: i32 = 99;
    pub const SOFT_DOLLAR_TIERS: i32 = 77;
    pub const FAMILY_CODES: i32 = 78;
    pub const SMART_COMPONENTS: i32 = 82;
    pub const NEWS_PROVIDERS: i32 = 85;
    pub const HISTORICAL_NEWS_END: i32 = 87;
    pub const HISTOGRAM_DATA: i32 = 89;
    pub const USER_INFO: i32 = 107;
}

/// Per-connection protobuf codec.
///
/// Remembers which historical-data requests ask for daily (or longer) bars: TWS renders those
/// bar dates as `yyyymmdd` whatever the request's `formatDate`, intraday bars as epoch seconds.
#[derive(Debug)]
pub struct ProtoCodec {
    server_version: i32,
    daily_hist: std::cell::RefCell<std::collections::HashMap<api::ReqId, bool>>,
}

impl ProtoCodec {
    pub fn new(server_version: i32) -> Self {
        Self {
            server_version,
            daily_hist: Default::default(),
        }
    }

    fn bar_style(&self, req_id: api::ReqId) -> BarStyle {
        match self.daily_hist.borrow().get(&req_id) {
            Some(true) => BarStyle::Daily,
            Some(false) => BarStyle::Intraday,
            None => BarStyle::Guess,
        }
    }
}

/// Whether a bar size setting ("1 day", "1 week", "1 month", "5 mins") means daily-or-longer bars.
pub fn is_daily_bar_size(bar_size: &str) -> bool {
    let b = bar_size.trim().to_ascii_lowercase();
    ["day", "week", "month"].iter().any(|u| b.contains(u))
}

impl Codec for ProtoCodec {
    fn decode(&mut self, frame: &[u8]) -> Result<Request, DecodeError> {
        let req = decode_request(frame)?;
        match &req {
            Request::ReqHistoricalData {
                req_id, bar_size, ..
            } => {
                let mut m = self.daily_hist.borrow_mut();
                if m.len() > 10_000 {
                    m.clear();
                }
                m.insert(*req_id, is_daily_bar_size(bar_size));
            }
            Request::CancelHistoricalData { req_id } => {
                self.daily_hist.borrow_mut().remove(req_id);
            }
            _ => {}
        }
        Ok(req)
    }

    fn encode(&self, resp: &Response, out: &mut Vec<u8>) {
        match resp {
            Response::HistoricalData {
                req_id,
                bars,
                format_date,
            } => put(
                out,
                in_ids::HISTORICAL_DATA,
                &pb::HistoricalData {
                    req_id: Some(*req_id),
                    historical_data_bars: bars
                        .iter()
                        .map(|b| bar_to_pb(b, *format_date, self.bar_style(*req_id)))
                        .collect(),
                },
            ),
            Response::HistoricalDataUpdate {
                req_id,
                bar,
                format_date,
            } => put(
                out,
                in_ids::HISTORICAL_DATA_UPDATE,
                &pb::HistoricalDataUpdate {
                    req_id: Some(*req_id),
                    historical_data_bar: Some(bar_to_pb(
                        bar,
                        *format_date,
                        self.bar_style(*req_id),
                    )),
                },
            ),
            other => encode_response(other, out),
        }
    }

    fn server_version(&self) -> i32 {
        self.server_version
    }
}

// ============================================================================ requests

fn parse<M: Message + Default>(msg_id: i32, payload: &[u8]) -> Result<M, DecodeError> {
    M::decode(payload).map_err(|e| DecodeError::Malformed {
        msg_id,
        detail: e.to_string(),
    })
}

fn decimal(msg_id: i32, field: &str, v: Option<&str>) -> Result<f64, DecodeError> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(0.0),
        Some(s) => s
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| DecodeError::Malformed {
                msg_id,
                detail: format!("{field}: not a decimal: {s:?}"),
            }),
    }
}

/// Decode one frame body of a protobuf-mode connection.
pub fn decode_request(frame: &[u8]) -> Result<Request, DecodeError> {
    use out_ids::*;
    let Some((head, payload)) = frame.split_first_chunk::<4>() else {
        return Err(DecodeError::Truncated);
    };
    let raw_id = i32::from_be_bytes(*head);
    if raw_id <= PROTOBUF_MSG_ID_OFFSET {
        // Text-encoded message on a protobuf connection: nothing the simulator implements is
        // sent this way by protobuf-era clients.
        return if out_ids::is_defined(raw_id) {
            Ok(Request::Unsupported {
                msg_id: raw_id,
                req_id: None,
            })
        } else {
            Err(DecodeError::UnknownMessage(raw_id))
        };
    }
    let id = raw_id - PROTOBUF_MSG_ID_OFFSET;
    let s = |v: Option<String>| v.unwrap_or_default();
    let req = match id {
        START_API => {
            let m: pb::StartApiRequest = parse(id, payload)?;
            Request::StartApi {
                client_id: m.client_id.unwrap_or_default(),
                optional_capabilities: s(m.optional_capabilities),
            }
        }
        REQ_IDS => {
            let m: pb::IdsRequest = parse(id, payload)?;
            Request::ReqIds {
                num_ids: m.num_ids.unwrap_or(1),
            }
        }
        REQ_CURRENT_TIME => {
            parse::<pb::Empty>(id, payload)?;
            Request::ReqCurrentTime
        }
        REQ_MANAGED_ACCTS => {
            parse::<pb::Empty>(id, payload)?;
            Request::ReqManagedAccts
        }
        REQ_CONTRACT_DATA => {
            let m: pb::ContractDataRequest = parse(id, payload)?;
            Request::ReqContractDetails {
                req_id: m.req_id.unwrap_or_default(),
                contract: contract_from_pb(m.contract.unwrap_or_default()),
            }
        }
        REQ_MATCHING_SYMBOLS => {
            let m: pb::MatchingSymbolsRequest = parse(id, payload)?;
            Request::ReqMatchingSymbols {
                req_id: m.req_id.unwrap_or_default(),
                pattern: s(m.pattern),
            }
        }
        REQ_MARKET_RULE => {
            let m: pb::MarketRuleRequest = parse(id, payload)?;
            Request::ReqMarketRule {
                market_rule_id: m.market_rule_id.unwrap_or_default(),
            }
        }
        REQ_SEC_DEF_OPT_PARAMS => {
            let m: pb::SecDefOptParamsRequest = parse(id, payload)?;
            Request::ReqSecDefOptParams {
                req_id: m.req_id.unwrap_or_default(),
                underlying_symbol: s(m.underlying_symbol),
                fut_fop_exchange: s(m.fut_fop_exchange),
                underlying_sec_type: s(m.underlying_sec_type),
                underlying_con_id: m.underlying_con_id.unwrap_or_default(),
            }
        }
        REQ_MKT_DATA => {
            let m: pb::MarketDataRequest = parse(id, payload)?;
            Request::ReqMktData {
                req_id: m.req_id.unwrap_or_default(),
                contract: contract_from_pb(m.contract.unwrap_or_default()),
                generic_tick_list: s(m.generic_tick_list),
                snapshot: m.snapshot.unwrap_or_default(),
                regulatory_snapshot: m.regulatory_snapshot.unwrap_or_default(),
            }
        }
        CANCEL_MKT_DATA => Request::CancelMktData {
            req_id: req_id_only(id, payload)?,
        },
        REQ_MARKET_DATA_TYPE => {
            let m: pb::MarketDataTypeRequest = parse(id, payload)?;
            Request::ReqMarketDataType {
                market_data_type: m.market_data_type.unwrap_or(1),
            }
        }
        REQ_HISTORICAL_DATA => {
            let m: pb::HistoricalDataRequest = parse(id, payload)?;
            Request::ReqHistoricalData {
                req_id: m.req_id.unwrap_or_default(),
                contract: contract_from_pb(m.contract.unwrap_or_default()),
                end_date_time: s(m.end_date_time),
                bar_size: s(m.bar_size_setting),
                duration: s(m.duration),
                use_rth: m.use_rth.unwrap_or_default(),
                what_to_show: s(m.what_to_show),
                format_date: m.format_date.unwrap_or(1),
                keep_up_to_date: m.keep_up_to_date.unwrap_or_default(),
            }
        }
        CANCEL_HISTORICAL_DATA => Request::CancelHistoricalData {
            req_id: req_id_only(id, payload)?,
        },
        REQ_HEAD_TIMESTAMP => {
            let m: pb::HeadTimestampRequest = parse(id, payload)?;
            Request::ReqHeadTimestamp {
                req_id: m.req_id.unwrap_or_default(),
                contract: contract_from_pb(m.contract.unwrap_or_default()),
                what_to_show: s(m.what_to_show),
                use_rth: m.use_rth.unwrap_or_default(),
                format_date: m.format_date.unwrap_or(1),
            }
        }
        CANCEL_HEAD_TIMESTAMP => Request::CancelHeadTimestamp {
            req_id: req_id_only(id, payload)?,
        },
        REQ_ACCOUNT_SUMMARY => {
            let m: pb::AccountSummaryRequest = parse(id, payload)?;
            Request::ReqAccountSummary {
                req_id: m.req_id.unwrap_or_default(),
                group: s(m.group),
                tags: s(m.tags),
            }
        }
        CANCEL_ACCOUNT_SUMMARY => Request::CancelAccountSummary {
            req_id: req_id_only(id, payload)?,
        },
        REQ_POSITIONS => {
            parse::<pb::Empty>(id, payload)?;
            Request::ReqPositions
        }
        CANCEL_POSITIONS => {
            parse::<pb::Empty>(id, payload)?;
            Request::CancelPositions
        }
        REQ_ACCOUNT_DATA => {
            let m: pb::AccountDataRequest = parse(id, payload)?;
            Request::ReqAccountUpdates {
                subscribe: m.subscribe.unwrap_or_default(),
                account: s(m.acct_code),
            }
        }
        REQ_ACCOUNT_UPDATES_MULTI => {
            let m: pb::AccountUpdatesMultiRequest = parse(id, payload)?;
            Request::ReqAccountUpdatesMulti {
                req_id: m.req_id.unwrap_or_default(),
                account: s(m.account),
                model_code: s(m.model_code),
                ledger_and_nlv: m.ledger_and_nlv.unwrap_or_default(),
            }
        }
        CANCEL_ACCOUNT_UPDATES_MULTI => Request::CancelAccountUpdatesMulti {
            req_id: req_id_only(id, payload)?,
        },
        REQ_POSITIONS_MULTI => {
            let m: pb::PositionsMultiRequest = parse(id, payload)?;
            Request::ReqPositionsMulti {
                req_id: m.req_id.unwrap_or_default(),
                account: s(m.account),
                model_code: s(m.model_code),
            }
        }
        CANCEL_POSITIONS_MULTI => Request::CancelPositionsMulti {
            req_id: req_id_only(id, payload)?,
        },
        REQ_PNL => {
            let m: pb::PnLRequest = parse(id, payload)?;
            Request::ReqPnL {
                req_id: m.req_id.unwrap_or_default(),
                account: s(m.account),
                model_code: s(m.model_code),
            }
        }
        CANCEL_PNL => Request::CancelPnL {
            req_id: req_id_only(id, payload)?,
        },
        REQ_PNL_SINGLE => {
            let m: pb::PnLSingleRequest = parse(id, payload)?;
            Request::ReqPnLSingle {
                req_id: m.req_id.unwrap_or_default(),
                account: s(m.account),
                model_code: s(m.model_code),
                con_id: m.con_id.unwrap_or_default(),
            }
        }
        CANCEL_PNL_SINGLE => Request::CancelPnLSingle {
            req_id: req_id_only(id, payload)?,
        },
        PLACE_ORDER => {
            let m: pb::PlaceOrderRequest = parse(id, payload)?;
            let order_id = m.order_id.unwrap_or_default();
            let mut order = order_from_pb(id, m.order.unwrap_or_default())?;
            order.order_id = order_id;
            Request::PlaceOrder {
                order_id,
                contract: contract_from_pb(m.contract.unwrap_or_default()),
                order,
            }
        }
        CANCEL_ORDER => {
            let m: pb::CancelOrderRequest = parse(id, payload)?;
            Request::CancelOrder {
                order_id: m.order_id.unwrap_or_default(),
                manual_order_cancel_time: m
                    .order_cancel
                    .and_then(|c| c.manual_order_cancel_time)
                    .unwrap_or_default(),
            }
        }
        REQ_GLOBAL_CANCEL => {
            parse::<pb::GlobalCancelRequest>(id, payload)?;
            Request::ReqGlobalCancel
        }
        REQ_OPEN_ORDERS => {
            parse::<pb::Empty>(id, payload)?;
            Request::ReqOpenOrders
        }
        REQ_ALL_OPEN_ORDERS => {
            parse::<pb::Empty>(id, payload)?;
            Request::ReqAllOpenOrders
        }
        REQ_AUTO_OPEN_ORDERS => {
            let m: pb::AutoOpenOrdersRequest = parse(id, payload)?;
            Request::ReqAutoOpenOrders {
                auto_bind: m.auto_bind.unwrap_or_default(),
            }
        }
        REQ_COMPLETED_ORDERS => {
            let m: pb::CompletedOrdersRequest = parse(id, payload)?;
            Request::ReqCompletedOrders {
                api_only: m.api_only.unwrap_or_default(),
            }
        }
        REQ_EXECUTIONS => {
            let m: pb::ExecutionRequest = parse(id, payload)?;
            let f = m.execution_filter.unwrap_or_default();
            Request::ReqExecutions {
                req_id: m.req_id.unwrap_or_default(),
                filter: api::ExecutionFilter {
                    client_id: f.client_id.unwrap_or_default(),
                    account: s(f.acct_code),
                    time: s(f.time),
                    symbol: s(f.symbol),
                    sec_type: s(f.sec_type),
                    exchange: s(f.exchange),
                    side: s(f.side),
                    last_n_days: f.last_n_days.unwrap_or_default(),
                    specific_dates: f.specific_dates,
                },
            }
        }
        REQ_NEWS_BULLETINS => {
            let m: pb::NewsBulletinsRequest = parse(id, payload)?;
            Request::ReqNewsBulletins {
                all_messages: m.all_messages.unwrap_or_default(),
            }
        }
        CANCEL_NEWS_BULLETINS => {
            parse::<pb::Empty>(id, payload)?;
            Request::CancelNewsBulletins
        }
        REQ_SCANNER_PARAMETERS => {
            parse::<pb::Empty>(id, payload)?;
            Request::ReqScannerParameters
        }
        REQ_SCANNER_SUBSCRIPTION => {
            let m: pb::ScannerSubscriptionRequest = parse(id, payload)?;
            let sub = m.scanner_subscription.unwrap_or_default();
            Request::ReqScannerSubscription {
                req_id: m.req_id.unwrap_or_default(),
                subscription: api::ScannerSubscription {
                    number_of_rows: sub.number_of_rows.unwrap_or(-1),
                    instrument: s(sub.instrument),
                    location_code: s(sub.location_code),
                    scan_code: s(sub.scan_code),
                    above_price: sub.above_price.filter(|v| *v != f64::MAX),
                    below_price: sub.below_price.filter(|v| *v != f64::MAX),
                    above_volume: sub
                        .above_volume
                        .and_then(|v| i32::try_from(v).ok())
                        .filter(|v| *v != i32::MAX),
                    market_cap_above: sub.market_cap_above.filter(|v| *v != f64::MAX),
                    market_cap_below: sub.market_cap_below.filter(|v| *v != f64::MAX),
                    stock_type_filter: s(sub.stock_type_filter),
                },
            }
        }
        CANCEL_SCANNER_SUBSCRIPTION => Request::CancelScannerSubscription {
            req_id: req_id_only(id, payload)?,
        },
        REQ_REAL_TIME_BARS => {
            let m: pb::RealTimeBarsRequest = parse(id, payload)?;
            Request::ReqRealTimeBars {
                req_id: m.req_id.unwrap_or_default(),
                contract: contract_from_pb(m.contract.unwrap_or_default()),
                what_to_show: s(m.what_to_show),
                use_rth: m.use_rth.unwrap_or_default(),
            }
        }
        CANCEL_REAL_TIME_BARS => Request::CancelRealTimeBars {
            req_id: req_id_only(id, payload)?,
        },
        REQ_TICK_BY_TICK_DATA => {
            let m: pb::TickByTickRequest = parse(id, payload)?;
            Request::ReqTickByTickData {
                req_id: m.req_id.unwrap_or_default(),
                contract: contract_from_pb(m.contract.unwrap_or_default()),
                tick_type: s(m.tick_type),
                number_of_ticks: m.number_of_ticks.unwrap_or_default(),
                ignore_size: m.ignore_size.unwrap_or_default(),
            }
        }
        CANCEL_TICK_BY_TICK_DATA => Request::CancelTickByTickData {
            req_id: req_id_only(id, payload)?,
        },
        REQ_MKT_DEPTH => {
            let m: pb::MarketDepthRequest = parse(id, payload)?;
            Request::ReqMktDepth {
                req_id: m.req_id.unwrap_or_default(),
                contract: contract_from_pb(m.contract.unwrap_or_default()),
                num_rows: m.num_rows.unwrap_or_default(),
                is_smart_depth: m.is_smart_depth.unwrap_or_default(),
            }
        }
        CANCEL_MKT_DEPTH => {
            let m: pb::CancelMarketDepth = parse(id, payload)?;
            Request::CancelMktDepth {
                req_id: m.req_id.unwrap_or_default(),
                is_smart_depth: m.is_smart_depth.unwrap_or_default(),
            }
        }
        REQ_MKT_DEPTH_EXCHANGES => Request::ReqMktDepthExchanges,
        REQ_HISTORICAL_TICKS => {
            let m: pb::HistoricalTicksRequest = parse(id, payload)?;
            Request::ReqHistoricalTicks {
                req_id: m.req_id.unwrap_or_default(),
                contract: contract_from_pb(m.contract.unwrap_or_default()),
                start_date_time: s(m.start_date_time),
                end_date_time: s(m.end_date_time),
                number_of_ticks: m.number_of_ticks.unwrap_or_default(),
                what_to_show: s(m.what_to_show),
                use_rth: m.use_rth.unwrap_or_default(),
                ignore_size: m.ignore_size.unwrap_or_default(),
            }
        }
        CANCEL_HISTORICAL_TICKS => Request::CancelHistoricalTicks {
            req_id: req_id_only(id, payload)?,
        },
        REQ_HISTOGRAM_DATA => {
            let m: pb::HistogramDataRequest = parse(id, payload)?;
            Request::ReqHistogramData {
                req_id: m.req_id.unwrap_or_default(),
                contract: contract_from_pb(m.contract.unwrap_or_default()),
                use_rth: m.use_rth.unwrap_or_default(),
                time_period: s(m.time_period),
            }
        }
        REQ_NEWS_PROVIDERS => Request::ReqNewsProviders,
        REQ_FAMILY_CODES => Request::ReqFamilyCodes,
        REQ_SMART_COMPONENTS => {
            let m: pb::SmartComponentsRequest = parse(id, payload)?;
            Request::ReqSmartComponents {
                req_id: m.req_id.unwrap_or_default(),
                bbo_exchange: s(m.bbo_exchange),
            }
        }
        REQ_SOFT_DOLLAR_TIERS => Request::ReqSoftDollarTiers {
            req_id: req_id_only(id, payload)?,
        },
        REQ_USER_INFO => Request::ReqUserInfo {
            req_id: req_id_only(id, payload)?,
        },
        REQ_HISTORICAL_NEWS => {
            let m: pb::HistoricalNewsRequest = parse(id, payload)?;
            Request::ReqHistoricalNews {
                req_id: m.req_id.unwrap_or_default(),
                con_id: m.con_id.unwrap_or_default(),
                provider_codes: s(m.provider_codes),
            }
        }
        other if out_ids::is_defined(other) => {
            // Well-formed but unimplemented: recover the request id (field 1) when there is one.
            let req_id = pb::ReqIdOnly::decode(payload).ok().and_then(|m| m.req_id);
            Request::Unsupported {
                msg_id: other,
                req_id,
            }
        }
        other => return Err(DecodeError::UnknownMessage(other)),
    };
    Ok(req)
}

fn req_id_only(msg_id: i32, payload: &[u8]) -> Result<i32, DecodeError> {
    Ok(parse::<pb::ReqIdOnly>(msg_id, payload)?
        .req_id
        .unwrap_or_default())
}

fn contract_from_pb(c: pb::Contract) -> api::Contract {
    let s = |v: Option<String>| v.unwrap_or_default();
    api::Contract {
        con_id: c.con_id.unwrap_or_default(),
        symbol: s(c.symbol),
        sec_type: s(c.sec_type),
        last_trade_date_or_contract_month: s(c.last_trade_date_or_contract_month),
        strike: c.strike.filter(|v| *v != f64::MAX).unwrap_or_default(),
        right: s(c.right),
        multiplier: c
            .multiplier
            .filter(|m| m.is_finite() && *m != 0.0 && *m != f64::MAX)
            .map(fmt_num)
            .unwrap_or_default(),
        exchange: s(c.exchange),
        primary_exchange: s(c.primary_exch),
        currency: s(c.currency),
        local_symbol: s(c.local_symbol),
        trading_class: s(c.trading_class),
        sec_id_type: s(c.sec_id_type),
        sec_id: s(c.sec_id),
        description: s(c.description),
        include_expired: c.include_expired.unwrap_or_default(),
        combo_legs_description: s(c.combo_legs_descrip),
        combo_legs: c
            .combo_legs
            .into_iter()
            .map(|l| api::ComboLeg {
                con_id: l.con_id.unwrap_or_default(),
                ratio: l.ratio.unwrap_or_default(),
                action: s(l.action),
                exchange: s(l.exchange),
            })
            .collect(),
    }
}

fn unset_f64(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite() && *x != f64::MAX)
}

fn order_from_pb(msg_id: i32, o: pb::Order) -> Result<api::Order, DecodeError> {
    let s = |v: Option<String>| v.unwrap_or_default();
    let mut algo_params: Vec<(String, String)> = o.algo_params.into_iter().collect();
    algo_params.sort();
    let mut smart: Vec<(String, String)> = o.smart_combo_routing_params.into_iter().collect();
    smart.sort();
    Ok(api::Order {
        order_id: o.order_id.unwrap_or_default(),
        client_id: o.client_id.unwrap_or_default(),
        perm_id: o.perm_id.unwrap_or_default(),
        parent_id: o.parent_id.unwrap_or_default(),
        action: s(o.action),
        total_quantity: decimal(msg_id, "totalQuantity", o.total_quantity.as_deref())?,
        order_type: s(o.order_type),
        lmt_price: unset_f64(o.lmt_price),
        aux_price: unset_f64(o.aux_price),
        tif: s(o.tif),
        account: s(o.account),
        oca_group: s(o.oca_group),
        oca_type: o.oca_type.unwrap_or_default(),
        order_ref: s(o.order_ref),
        // ibapi omits false booleans, so an absent `transmit` means "do not transmit".
        transmit: o.transmit.unwrap_or_default(),
        outside_rth: o.outside_rth.unwrap_or_default(),
        trailing_percent: unset_f64(o.trailing_percent),
        trail_stop_price: unset_f64(o.trail_stop_price),
        what_if: o.what_if.unwrap_or_default(),
        good_till_date: s(o.good_till_date),
        good_after_time: s(o.good_after_time),
        hidden: o.hidden.unwrap_or_default(),
        all_or_none: o.all_or_none.unwrap_or_default(),
        min_qty: o.min_qty.filter(|v| *v != i32::MAX),
        filled_quantity: decimal(msg_id, "filledQuantity", o.filled_quantity.as_deref())?,
        algo_strategy: s(o.algo_strategy),
        algo_params,
        order_combo_legs_prices: Vec::new(),
        smart_combo_routing_params: smart,
    })
}

// ============================================================================ responses

/// Format a decimal the way TWS does on the wire: no exponent, no trailing ".0".
pub fn fmt_num(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        String::new()
    }
}

fn opt_str(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn contract_to_pb(c: &api::Contract) -> pb::Contract {
    pb::Contract {
        con_id: Some(c.con_id),
        symbol: opt_str(&c.symbol),
        sec_type: opt_str(&c.sec_type),
        last_trade_date_or_contract_month: opt_str(&c.last_trade_date_or_contract_month),
        strike: (c.strike != 0.0).then_some(c.strike),
        right: opt_str(&c.right),
        multiplier: c.multiplier.trim().parse::<f64>().ok(),
        exchange: opt_str(&c.exchange),
        primary_exch: opt_str(&c.primary_exchange),
        currency: opt_str(&c.currency),
        local_symbol: opt_str(&c.local_symbol),
        trading_class: opt_str(&c.trading_class),
        sec_id_type: opt_str(&c.sec_id_type),
        sec_id: opt_str(&c.sec_id),
        description: opt_str(&c.description),
        include_expired: c.include_expired.then_some(true),
        combo_legs_descrip: opt_str(&c.combo_legs_description),
        combo_legs: c
            .combo_legs
            .iter()
            .map(|l| pb::ComboLeg {
                con_id: Some(l.con_id),
                ratio: Some(l.ratio),
                action: opt_str(&l.action),
                exchange: opt_str(&l.exchange),
                per_leg_price: None,
            })
            .collect(),
        last_trade_date: derivative_last_trade_date(c),
    }
}

/// TWS fills `lastTradeDate` (YYYYMMDD) for derivatives.
fn derivative_last_trade_date(c: &api::Contract) -> Option<String> {
    let d = &c.last_trade_date_or_contract_month;
    (matches!(c.sec_type.as_str(), "OPT" | "FUT" | "FOP")
        && d.len() == 8
        && d.bytes().all(|b| b.is_ascii_digit()))
    .then(|| d.clone())
}

fn details_to_pb(d: &api::ContractDetails) -> pb::ContractDetails {
    pb::ContractDetails {
        market_name: opt_str(&d.market_name),
        min_tick: Some(fmt_num(d.min_tick)),
        order_types: opt_str(&d.order_types),
        valid_exchanges: opt_str(&d.valid_exchanges),
        price_magnifier: Some(d.price_magnifier),
        under_con_id: Some(d.under_con_id),
        long_name: opt_str(&d.long_name),
        contract_month: opt_str(&d.contract_month),
        industry: opt_str(&d.industry),
        category: opt_str(&d.category),
        subcategory: opt_str(&d.subcategory),
        time_zone_id: opt_str(&d.time_zone_id),
        trading_hours: opt_str(&d.trading_hours),
        liquid_hours: opt_str(&d.liquid_hours),
        ev_rule: opt_str(&d.ev_rule),
        ev_multiplier: (d.ev_multiplier != 0.0).then_some(d.ev_multiplier),
        sec_id_list: d.sec_id_list.iter().cloned().collect(),
        agg_group: Some(d.agg_group),
        under_symbol: opt_str(&d.under_symbol),
        under_sec_type: opt_str(&d.under_sec_type),
        market_rule_ids: opt_str(&d.market_rule_ids),
        real_expiration_date: opt_str(&d.real_expiration_date),
        stock_type: opt_str(&d.stock_type),
        min_size: Some(fmt_num(d.min_size)),
        size_increment: Some(fmt_num(d.size_increment)),
        suggested_size_increment: Some(fmt_num(d.suggested_size_increment)),
    }
}

fn order_to_pb(o: &api::Order) -> pb::Order {
    pb::Order {
        client_id: Some(o.client_id),
        order_id: Some(o.order_id),
        perm_id: Some(o.perm_id),
        parent_id: Some(o.parent_id),
        action: Some(o.action.clone()),
        total_quantity: Some(fmt_num(o.total_quantity)),
        order_type: opt_str(&o.order_type),
        lmt_price: o.lmt_price,
        aux_price: o.aux_price,
        tif: opt_str(&o.tif),
        account: opt_str(&o.account),
        all_or_none: Some(o.all_or_none),
        hidden: Some(o.hidden),
        outside_rth: Some(o.outside_rth),
        trailing_percent: o.trailing_percent,
        trail_stop_price: o.trail_stop_price,
        min_qty: o.min_qty,
        good_after_time: opt_str(&o.good_after_time),
        good_till_date: opt_str(&o.good_till_date),
        oca_group: opt_str(&o.oca_group),
        order_ref: opt_str(&o.order_ref),
        oca_type: Some(o.oca_type),
        algo_strategy: opt_str(&o.algo_strategy),
        algo_params: o.algo_params.iter().cloned().collect(),
        smart_combo_routing_params: o.smart_combo_routing_params.iter().cloned().collect(),
        what_if: Some(o.what_if),
        transmit: Some(o.transmit),
        filled_quantity: Some(fmt_num(o.filled_quantity)),
    }
}

fn order_state_to_pb(s: &api::OrderState) -> pb::OrderState {
    pb::OrderState {
        status: Some(s.status.clone()),
        init_margin_before: s.init_margin_before,
        maint_margin_before: s.maint_margin_before,
        equity_with_loan_before: s.equity_with_loan_before,
        init_margin_change: s.init_margin_change,
        maint_margin_change: s.maint_margin_change,
        equity_with_loan_change: s.equity_with_loan_change,
        init_margin_after: s.init_margin_after,
        maint_margin_after: s.maint_margin_after,
        equity_with_loan_after: s.equity_with_loan_after,
        commission_and_fees: s.commission,
        min_commission_and_fees: s.min_commission,
        max_commission_and_fees: s.max_commission,
        commission_and_fees_currency: opt_str(&s.commission_currency),
        margin_currency: opt_str(&s.commission_currency),
        warning_text: opt_str(&s.warning_text),
        completed_time: opt_str(&s.completed_time),
        completed_status: opt_str(&s.completed_status),
    }
}

/// How to render bar dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarStyle {
    /// Daily or longer bars: `yyyymmdd`.
    Daily,
    /// Intraday bars: epoch seconds (`format_date` 2) or `yyyymmdd hh:mm:ss` (1).
    Intraday,
    /// Request unknown (stateless encoding): bars at 00:00 UTC are taken as daily.
    Guess,
}

/// Render a bar time (epoch seconds of the bar start) per `style` and `format_date`.
pub fn bar_date(time: i64, format_date: i32, style: BarStyle) -> String {
    let dt = chrono::DateTime::from_timestamp(time, 0).unwrap_or_default();
    let daily = match style {
        BarStyle::Daily => true,
        BarStyle::Intraday => false,
        BarStyle::Guess => time.rem_euclid(86_400) == 0,
    };
    if daily {
        dt.format("%Y%m%d").to_string()
    } else if format_date == 2 {
        time.to_string()
    } else {
        dt.format("%Y%m%d %H:%M:%S").to_string()
    }
}

fn bar_to_pb(b: &api::Bar, format_date: i32, style: BarStyle) -> pb::HistoricalDataBar {
    pb::HistoricalDataBar {
        date: Some(bar_date(b.time, format_date, style)),
        open: Some(b.open),
        high: Some(b.high),
        low: Some(b.low),
        close: Some(b.close),
        volume: Some(fmt_num(b.volume)),
        wap: Some(fmt_num(b.wap)),
        bar_count: Some(b.count),
    }
}

fn put<M: Message>(out: &mut Vec<u8>, id: i32, m: &M) {
    put_frame(out, |b| {
        b.extend_from_slice(&(id + PROTOBUF_MSG_ID_OFFSET).to_be_bytes());
        // Encoding into a Vec cannot run out of capacity.
        let _ = m.encode(b);
    });
}

/// Append the frame(s) for one response (stateless: historical bar dates use
/// [`BarStyle::Guess`]; [`ProtoCodec`] knows the request's bar size).
pub fn encode_response(resp: &Response, out: &mut Vec<u8>) {
    use in_ids::*;
    let st = |v: &str| Some(v.to_string());
    match resp {
        Response::Error {
            id,
            time,
            code,
            message,
            advanced_order_reject_json,
        } => put(
            out,
            ERROR,
            &pb::ErrorMessage {
                id: Some(*id),
                error_time: Some(*time),
                error_code: Some(*code),
                error_msg: st(message),
                advanced_order_reject_json: opt_str(advanced_order_reject_json),
            },
        ),
        Response::ManagedAccounts { accounts } => put(
            out,
            MANAGED_ACCOUNTS,
            &pb::ManagedAccounts {
                accounts_list: Some(accounts.join(",")),
            },
        ),
        Response::NextValidId { order_id } => put(
            out,
            NEXT_VALID_ID,
            &pb::NextValidId {
                order_id: Some(*order_id),
            },
        ),
        Response::CurrentTime { time } => put(
            out,
            CURRENT_TIME,
            &pb::CurrentTime {
                current_time: Some(*time),
            },
        ),
        Response::ContractData { req_id, details } => put(
            out,
            CONTRACT_DATA,
            &pb::ContractData {
                req_id: Some(*req_id),
                contract: Some(contract_to_pb(&details.contract)),
                contract_details: Some(details_to_pb(details)),
            },
        ),
        Response::ContractDataEnd { req_id } => put(out, CONTRACT_DATA_END, &req(*req_id)),
        Response::SymbolSamples {
            req_id,
            descriptions,
        } => put(
            out,
            SYMBOL_SAMPLES,
            &pb::SymbolSamples {
                req_id: Some(*req_id),
                contract_descriptions: descriptions
                    .iter()
                    .map(|d| pb::ContractDescription {
                        contract: Some(contract_to_pb(&d.contract)),
                        derivative_sec_types: d.derivative_sec_types.clone(),
                    })
                    .collect(),
            },
        ),
        Response::MarketRule {
            market_rule_id,
            increments,
        } => put(
            out,
            MARKET_RULE,
            &pb::MarketRule {
                market_rule_id: Some(*market_rule_id),
                price_increments: increments
                    .iter()
                    .map(|i| pb::PriceIncrement {
                        low_edge: Some(i.low_edge),
                        increment: Some(i.increment),
                    })
                    .collect(),
            },
        ),
        Response::SecDefOptParams {
            req_id,
            exchange,
            underlying_con_id,
            trading_class,
            multiplier,
            expirations,
            strikes,
        } => put(
            out,
            SEC_DEF_OPT_PARAM,
            &pb::SecDefOptParameter {
                req_id: Some(*req_id),
                exchange: st(exchange),
                underlying_con_id: Some(*underlying_con_id),
                trading_class: st(trading_class),
                multiplier: st(multiplier),
                expirations: expirations.clone(),
                strikes: strikes.clone(),
            },
        ),
        Response::SecDefOptParamsEnd { req_id } => put(out, SEC_DEF_OPT_PARAM_END, &req(*req_id)),
        Response::TickReqParams {
            req_id,
            min_tick,
            bbo_exchange,
            snapshot_permissions,
        } => put(
            out,
            TICK_REQ_PARAMS,
            &pb::TickReqParams {
                req_id: Some(*req_id),
                min_tick: Some(fmt_num(*min_tick)),
                bbo_exchange: st(bbo_exchange),
                snapshot_permissions: Some(*snapshot_permissions),
            },
        ),
        Response::MarketDataType {
            req_id,
            market_data_type,
        } => put(
            out,
            MARKET_DATA_TYPE,
            &pb::MarketDataType {
                req_id: Some(*req_id),
                market_data_type: Some(*market_data_type),
            },
        ),
        Response::TickPrice {
            req_id,
            tick_type,
            price,
            size,
            attr_mask,
        } => put(
            out,
            TICK_PRICE,
            &pb::TickPrice {
                req_id: Some(*req_id),
                tick_type: Some(*tick_type),
                price: Some(*price),
                size: size.map(fmt_num),
                attr_mask: Some(*attr_mask),
            },
        ),
        Response::TickSize {
            req_id,
            tick_type,
            size,
        } => put(
            out,
            TICK_SIZE,
            &pb::TickSize {
                req_id: Some(*req_id),
                tick_type: Some(*tick_type),
                size: Some(fmt_num(*size)),
            },
        ),
        Response::TickString {
            req_id,
            tick_type,
            value,
        } => put(
            out,
            TICK_STRING,
            &pb::TickString {
                req_id: Some(*req_id),
                tick_type: Some(*tick_type),
                value: st(value),
            },
        ),
        Response::TickGeneric {
            req_id,
            tick_type,
            value,
        } => put(
            out,
            TICK_GENERIC,
            &pb::TickGeneric {
                req_id: Some(*req_id),
                tick_type: Some(*tick_type),
                value: Some(*value),
            },
        ),
        Response::TickOptionComputation {
            req_id,
            tick_type,
            tick_attrib,
            implied_vol,
            delta,
            opt_price,
            pv_dividend,
            gamma,
            vega,
            theta,
            und_price,
        } => put(
            out,
            TICK_OPTION_COMPUTATION,
            &pb::TickOptionComputation {
                req_id: Some(*req_id),
                tick_type: Some(*tick_type),
                tick_attrib: Some(*tick_attrib),
                // TWS sends -1 (prices, vol) / -2 (greeks) for "not computed".
                implied_vol: Some(implied_vol.unwrap_or(-1.0)),
                delta: Some(delta.unwrap_or(-2.0)),
                opt_price: Some(opt_price.unwrap_or(-1.0)),
                pv_dividend: Some(pv_dividend.unwrap_or(-1.0)),
                gamma: Some(gamma.unwrap_or(-2.0)),
                vega: Some(vega.unwrap_or(-2.0)),
                theta: Some(theta.unwrap_or(-2.0)),
                und_price: Some(und_price.unwrap_or(-1.0)),
            },
        ),
        Response::TickSnapshotEnd { req_id } => put(out, TICK_SNAPSHOT_END, &req(*req_id)),
        Response::HistoricalData {
            req_id,
            bars,
            format_date,
        } => put(
            out,
            HISTORICAL_DATA,
            &pb::HistoricalData {
                req_id: Some(*req_id),
                historical_data_bars: bars
                    .iter()
                    .map(|b| bar_to_pb(b, *format_date, BarStyle::Guess))
                    .collect(),
            },
        ),
        Response::HistoricalDataEnd { req_id, start, end } => put(
            out,
            HISTORICAL_DATA_END,
            &pb::HistoricalDataEnd {
                req_id: Some(*req_id),
                start_date_str: st(start),
                end_date_str: st(end),
            },
        ),
        Response::HistoricalDataUpdate {
            req_id,
            bar,
            format_date,
        } => put(
            out,
            HISTORICAL_DATA_UPDATE,
            &pb::HistoricalDataUpdate {
                req_id: Some(*req_id),
                historical_data_bar: Some(bar_to_pb(bar, *format_date, BarStyle::Guess)),
            },
        ),
        Response::HeadTimestamp {
            req_id,
            head_timestamp,
        } => put(
            out,
            HEAD_TIMESTAMP,
            &pb::HeadTimestamp {
                req_id: Some(*req_id),
                head_timestamp: st(head_timestamp),
            },
        ),
        Response::AccountSummary {
            req_id,
            account,
            tag,
            value,
            currency,
        } => put(
            out,
            ACCOUNT_SUMMARY,
            &pb::AccountSummary {
                req_id: Some(*req_id),
                account: st(account),
                tag: st(tag),
                value: st(value),
                currency: opt_str(currency),
            },
        ),
        Response::AccountSummaryEnd { req_id } => put(out, ACCOUNT_SUMMARY_END, &req(*req_id)),
        Response::Position {
            account,
            contract,
            position,
            avg_cost,
        } => put(
            out,
            POSITION,
            &pb::Position {
                account: st(account),
                contract: Some(contract_to_pb(contract)),
                position: Some(fmt_num(*position)),
                avg_cost: Some(*avg_cost),
            },
        ),
        Response::PositionEnd => put(out, POSITION_END, &pb::Empty {}),
        Response::PositionMulti {
            req_id,
            account,
            model_code,
            contract,
            position,
            avg_cost,
        } => put(
            out,
            POSITION_MULTI,
            &pb::PositionMulti {
                req_id: Some(*req_id),
                account: st(account),
                contract: Some(contract_to_pb(contract)),
                position: Some(fmt_num(*position)),
                avg_cost: Some(*avg_cost),
                model_code: opt_str(model_code),
            },
        ),
        Response::PositionMultiEnd { req_id } => put(out, POSITION_MULTI_END, &req(*req_id)),
        Response::AccountValue {
            key,
            value,
            currency,
            account,
        } => put(
            out,
            ACCOUNT_VALUE,
            &pb::AccountValue {
                key: st(key),
                value: st(value),
                currency: opt_str(currency),
                account_name: st(account),
            },
        ),
        Response::PortfolioValue {
            contract,
            position,
            market_price,
            market_value,
            average_cost,
            unrealized_pnl,
            realized_pnl,
            account,
        } => put(
            out,
            PORTFOLIO_VALUE,
            &pb::PortfolioValue {
                contract: Some(contract_to_pb(contract)),
                position: Some(fmt_num(*position)),
                market_price: Some(*market_price),
                market_value: Some(*market_value),
                average_cost: Some(*average_cost),
                unrealized_pnl: Some(*unrealized_pnl),
                realized_pnl: Some(*realized_pnl),
                account_name: st(account),
            },
        ),
        Response::AccountUpdateTime { time } => put(
            out,
            ACCOUNT_UPDATE_TIME,
            &pb::AccountUpdateTime {
                time_stamp: st(time),
            },
        ),
        Response::AccountDownloadEnd { account } => put(
            out,
            ACCOUNT_DOWNLOAD_END,
            &pb::AccountDataEnd {
                account_name: st(account),
            },
        ),
        Response::AccountUpdateMulti {
            req_id,
            account,
            model_code,
            key,
            value,
            currency,
        } => put(
            out,
            ACCOUNT_UPDATE_MULTI,
            &pb::AccountUpdateMulti {
                req_id: Some(*req_id),
                account: st(account),
                model_code: opt_str(model_code),
                key: st(key),
                value: st(value),
                currency: opt_str(currency),
            },
        ),
        Response::AccountUpdateMultiEnd { req_id } => {
            put(out, ACCOUNT_UPDATE_MULTI_END, &req(*req_id))
        }
        Response::PnL {
            req_id,
            daily_pnl,
            unrealized_pnl,
            realized_pnl,
        } => put(
            out,
            PNL,
            &pb::PnL {
                req_id: Some(*req_id),
                daily_pnl: Some(*daily_pnl),
                unrealized_pnl: *unrealized_pnl,
                realized_pnl: *realized_pnl,
            },
        ),
        Response::PnLSingle {
            req_id,
            position,
            daily_pnl,
            unrealized_pnl,
            realized_pnl,
            value,
        } => put(
            out,
            PNL_SINGLE,
            &pb::PnLSingle {
                req_id: Some(*req_id),
                position: Some(fmt_num(*position)),
                daily_pnl: Some(*daily_pnl),
                unrealized_pnl: *unrealized_pnl,
                realized_pnl: *realized_pnl,
                value: Some(*value),
            },
        ),
        Response::OpenOrder {
            order_id,
            contract,
            order,
            state,
        } => put(
            out,
            OPEN_ORDER,
            &pb::OpenOrder {
                order_id: Some(*order_id),
                contract: Some(contract_to_pb(contract)),
                order: Some(order_to_pb(order)),
                order_state: Some(order_state_to_pb(state)),
            },
        ),
        Response::OpenOrderEnd => put(out, OPEN_ORDER_END, &pb::Empty {}),
        Response::OrderStatus {
            order_id,
            status,
            filled,
            remaining,
            avg_fill_price,
            perm_id,
            parent_id,
            last_fill_price,
            client_id,
            why_held,
            mkt_cap_price,
        } => put(
            out,
            ORDER_STATUS,
            &pb::OrderStatus {
                order_id: Some(*order_id),
                status: st(status),
                filled: Some(fmt_num(*filled)),
                remaining: Some(fmt_num(*remaining)),
                avg_fill_price: Some(*avg_fill_price),
                perm_id: Some(*perm_id),
                parent_id: Some(*parent_id),
                last_fill_price: Some(*last_fill_price),
                client_id: Some(*client_id),
                why_held: opt_str(why_held),
                mkt_cap_price: Some(*mkt_cap_price),
            },
        ),
        Response::CompletedOrder {
            contract,
            order,
            state,
        } => put(
            out,
            COMPLETED_ORDER,
            &pb::CompletedOrder {
                contract: Some(contract_to_pb(contract)),
                order: Some(order_to_pb(order)),
                order_state: Some(order_state_to_pb(state)),
            },
        ),
        Response::CompletedOrdersEnd => put(out, COMPLETED_ORDERS_END, &pb::Empty {}),
        Response::ExecDetails {
            req_id,
            contract,
            execution: e,
        } => put(
            out,
            EXECUTION_DATA,
            &pb::ExecutionDetails {
                req_id: Some(*req_id),
                contract: Some(contract_to_pb(contract)),
                execution: Some(pb::Execution {
                    order_id: Some(e.order_id),
                    exec_id: st(&e.exec_id),
                    time: Some(crate::wire::format_tws_time(e.time)),
                    acct_number: st(&e.account),
                    exchange: st(&e.exchange),
                    side: st(&e.side),
                    shares: Some(fmt_num(e.shares)),
                    price: Some(e.price),
                    perm_id: Some(e.perm_id),
                    client_id: Some(e.client_id),
                    is_liquidation: Some(e.liquidation != 0),
                    cum_qty: Some(fmt_num(e.cum_qty)),
                    avg_price: Some(e.avg_price),
                    order_ref: opt_str(&e.order_ref),
                    ev_rule: opt_str(&e.ev_rule),
                    ev_multiplier: (e.ev_multiplier != 0.0).then_some(e.ev_multiplier),
                    model_code: opt_str(&e.model_code),
                    last_liquidity: Some(e.last_liquidity),
                }),
            },
        ),
        Response::ExecDetailsEnd { req_id } => put(out, EXECUTION_DATA_END, &req(*req_id)),
        Response::CommissionReport { report: r } => put(
            out,
            COMMISSION_REPORT,
            &pb::CommissionAndFeesReport {
                exec_id: st(&r.exec_id),
                commission_and_fees: Some(r.commission),
                currency: st(&r.currency),
                realized_pnl: Some(r.realized_pnl.unwrap_or(f64::MAX)),
                bond_yield: Some(r.yield_.unwrap_or(f64::MAX)),
                yield_redemption_date: (r.yield_redemption_date != 0)
                    .then(|| r.yield_redemption_date.to_string()),
            },
        ),
        Response::NewsBulletin {
            msg_id,
            msg_type,
            message,
            origin_exchange,
        } => put(
            out,
            NEWS_BULLETIN,
            &pb::NewsBulletin {
                news_msg_id: Some(*msg_id),
                news_msg_type: Some(*msg_type),
                news_message: st(message),
                originating_exch: st(origin_exchange),
            },
        ),
        Response::ScannerParameters { xml } => put(
            out,
            SCANNER_PARAMETERS,
            &pb::ScannerParameters { xml: st(xml) },
        ),
        Response::ScannerData { req_id, rows } => put(
            out,
            SCANNER_DATA,
            &pb::ScannerData {
                req_id: Some(*req_id),
                scanner_data_element: rows
                    .iter()
                    .map(|r| pb::ScannerDataElement {
                        rank: Some(r.rank),
                        contract: Some(contract_to_pb(&r.details.contract)),
                        market_name: opt_str(&r.details.market_name),
                        distance: opt_str(&r.distance),
                        benchmark: opt_str(&r.benchmark),
                        projection: opt_str(&r.projection),
                        combo_key: opt_str(&r.legs),
                    })
                    .collect(),
            },
        ),
        Response::RealTimeBar { req_id, bar } => put(
            out,
            REAL_TIME_BARS,
            &pb::RealTimeBarTick {
                req_id: Some(*req_id),
                time: Some(bar.time),
                open: Some(bar.open),
                high: Some(bar.high),
                low: Some(bar.low),
                close: Some(bar.close),
                volume: Some(fmt_num(bar.volume)),
                wap: Some(fmt_num(bar.wap)),
                count: Some(bar.count),
            },
        ),
        Response::TickByTickLast {
            req_id,
            tick_type,
            tick,
        } => put(
            out,
            TICK_BY_TICK,
            &pb::TickByTickData {
                req_id: Some(*req_id),
                tick_type: Some(*tick_type),
                tick: Some(pb::tick_by_tick_data::Tick::Last(tick_last_to_pb(tick))),
            },
        ),
        Response::TickByTickBidAsk { req_id, tick } => put(
            out,
            TICK_BY_TICK,
            &pb::TickByTickData {
                req_id: Some(*req_id),
                tick_type: Some(3),
                tick: Some(pb::tick_by_tick_data::Tick::BidAsk(tick_bid_ask_to_pb(
                    tick,
                ))),
            },
        ),
        Response::TickByTickMidPoint { req_id, time, mid } => put(
            out,
            TICK_BY_TICK,
            &pb::TickByTickData {
                req_id: Some(*req_id),
                tick_type: Some(4),
                tick: Some(pb::tick_by_tick_data::Tick::MidPoint(pb::HistoricalTick {
                    time: Some(*time),
                    price: Some(*mid),
                    size: None,
                })),
            },
        ),
        Response::MarketDepth {
            req_id,
            position,
            market_maker,
            operation,
            side,
            price,
            size,
            is_smart_depth,
        } => put(
            out,
            if market_maker.is_some() {
                MARKET_DEPTH_L2
            } else {
                MARKET_DEPTH
            },
            &pb::MarketDepth {
                req_id: Some(*req_id),
                market_depth_data: Some(pb::MarketDepthData {
                    position: Some(*position),
                    operation: Some(*operation),
                    side: Some(*side),
                    price: Some(*price),
                    size: Some(fmt_num(*size)),
                    market_maker: market_maker.clone(),
                    is_smart_depth: market_maker.as_ref().map(|_| *is_smart_depth),
                }),
            },
        ),
        Response::MktDepthExchanges { exchanges } => put(
            out,
            MKT_DEPTH_EXCHANGES,
            &pb::MarketDepthExchanges {
                depth_market_data_descriptions: exchanges
                    .iter()
                    .map(|d| pb::DepthMarketDataDescription {
                        exchange: Some(d.exchange.clone()),
                        sec_type: Some(d.sec_type.clone()),
                        listing_exch: Some(d.listing_exchange.clone()),
                        service_data_type: Some(d.service_data_type.clone()),
                        agg_group: Some(d.agg_group),
                    })
                    .collect(),
            },
        ),
        Response::HistoricalTicks {
            req_id,
            ticks,
            done,
        } => put(
            out,
            HISTORICAL_TICKS,
            &pb::HistoricalTicks {
                req_id: Some(*req_id),
                historical_ticks: ticks
                    .iter()
                    .map(|t| pb::HistoricalTick {
                        time: Some(t.time),
                        price: Some(t.price),
                        size: Some(fmt_num(t.size)),
                    })
                    .collect(),
                is_done: Some(*done),
            },
        ),
        Response::HistoricalTicksBidAsk {
            req_id,
            ticks,
            done,
        } => put(
            out,
            HISTORICAL_TICKS_BID_ASK,
            &pb::HistoricalTicksBidAsk {
                req_id: Some(*req_id),
                historical_ticks_bid_ask: ticks.iter().map(tick_bid_ask_to_pb).collect(),
                is_done: Some(*done),
            },
        ),
        Response::HistoricalTicksLast {
            req_id,
            ticks,
            done,
        } => put(
            out,
            HISTORICAL_TICKS_LAST,
            &pb::HistoricalTicksLast {
                req_id: Some(*req_id),
                historical_ticks_last: ticks.iter().map(tick_last_to_pb).collect(),
                is_done: Some(*done),
            },
        ),
        Response::HistogramData { req_id, entries } => {
            put(out, HISTOGRAM_DATA, &histogram_to_pb(*req_id, entries))
        }
        Response::NewsProviders { providers } => put(
            out,
            NEWS_PROVIDERS,
            &pb::NewsProviders {
                news_providers: providers
                    .iter()
                    .map(|(c, n)| pb::NewsProvider {
                        provider_code: Some(c.clone()),
                        provider_name: Some(n.clone()),
                    })
                    .collect(),
            },
        ),
        Response::SmartComponents { req_id, components } => put(
            out,
            SMART_COMPONENTS,
            &pb::SmartComponents {
                req_id: Some(*req_id),
                smart_components: components
                    .iter()
                    .map(|(b, e, l)| pb::SmartComponent {
                        bit_number: Some(*b),
                        exchange: Some(e.clone()),
                        exchange_letter: Some(l.clone()),
                    })
                    .collect(),
            },
        ),
        Response::FamilyCodes { codes } => put(
            out,
            FAMILY_CODES,
            &pb::FamilyCodes {
                family_codes: codes
                    .iter()
                    .map(|(a, c)| pb::FamilyCode {
                        account_id: Some(a.clone()),
                        family_code: opt_str(c),
                    })
                    .collect(),
            },
        ),
        Response::SoftDollarTiers { req_id, tiers } => put(
            out,
            SOFT_DOLLAR_TIERS,
            &pb::SoftDollarTiers {
                req_id: Some(*req_id),
                soft_dollar_tiers: tiers
                    .iter()
                    .map(|(n, v, d)| pb::SoftDollarTier {
                        name: Some(n.clone()),
                        value: Some(v.clone()),
                        display_name: Some(d.clone()),
                    })
                    .collect(),
            },
        ),
        Response::UserInfo {
            req_id,
            white_branding_id,
        } => put(
            out,
            USER_INFO,
            &pb::UserInfo {
                req_id: Some(*req_id),
                white_branding_id: Some(white_branding_id.clone()),
            },
        ),
        Response::HistoricalNewsEnd { req_id, has_more } => put(
            out,
            HISTORICAL_NEWS_END,
            &pb::HistoricalNewsEnd {
                req_id: Some(*req_id),
                has_more: Some(*has_more),
            },
        ),
    }
}

fn histogram_to_pb(req_id: i32, entries: &[(f64, f64)]) -> pb::HistogramData {
    pb::HistogramData {
        req_id: Some(req_id),
        histogram_data_entries: entries
            .iter()
            .map(|(p, n)| pb::HistogramDataEntry {
                price: Some(*p),
                size: Some(fmt_num(*n)),
            })
            .collect(),
    }
}

fn tick_last_to_pb(t: &api::TickLast) -> pb::HistoricalTickLast {
    pb::HistoricalTickLast {
        time: Some(t.time),
        tick_attrib_last: Some(pb::TickAttribLast {
            past_limit: Some(t.past_limit),
            unreported: Some(t.unreported),
        }),
        price: Some(t.price),
        size: Some(fmt_num(t.size)),
        exchange: opt_str(&t.exchange),
        special_conditions: opt_str(&t.special_conditions),
    }
}

fn tick_bid_ask_to_pb(t: &api::TickBidAsk) -> pb::HistoricalTickBidAsk {
    pb::HistoricalTickBidAsk {
        time: Some(t.time),
        tick_attrib_bid_ask: Some(pb::TickAttribBidAsk {
            bid_past_low: Some(t.bid_past_low),
            ask_past_high: Some(t.ask_past_high),
        }),
        price_bid: Some(t.bid),
        price_ask: Some(t.ask),
        size_bid: Some(fmt_num(t.bid_size)),
        size_ask: Some(fmt_num(t.ask_size)),
    }
}

fn req(req_id: i32) -> pb::ReqIdOnly {
    pb::ReqIdOnly {
        req_id: Some(req_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(id: i32, m: &impl Message) -> Vec<u8> {
        let mut v = (id + 200).to_be_bytes().to_vec();
        m.encode(&mut v).unwrap();
        v
    }

    #[test]
    fn start_api_roundtrip() {
        let f = frame(
            71,
            &pb::StartApiRequest {
                client_id: Some(-7),
                optional_capabilities: None,
            },
        );
        assert_eq!(
            decode_request(&f).unwrap(),
            Request::StartApi {
                client_id: -7,
                optional_capabilities: String::new()
            }
        );
    }

    #[test]
    fn hostile_frames() {
        assert_eq!(decode_request(&[0, 0]), Err(DecodeError::Truncated));
        assert!(matches!(
            decode_request(&(200 + 9999i32).to_be_bytes()),
            Err(DecodeError::UnknownMessage(9999))
        ));
        // Field 1 of reqContractDetails with the wrong wire type (length-delimited).
        let mut f = (200 + 9i32).to_be_bytes().to_vec();
        f.extend_from_slice(&[0x0a, 0x02, 0x01, 0x02]);
        assert!(matches!(
            decode_request(&f),
            Err(DecodeError::Malformed { .. })
        ));
        // Unimplemented but defined: reqFundamentalData with req id 5.
        let f = frame(52, &pb::ReqIdOnly { req_id: Some(5) });
        assert_eq!(
            decode_request(&f).unwrap(),
            Request::Unsupported {
                msg_id: 52,
                req_id: Some(5)
            }
        );
    }

    #[test]
    fn place_order_decimals() {
        let f = frame(
            3,
            &pb::PlaceOrderRequest {
                order_id: Some(12),
                contract: Some(pb::Contract {
                    symbol: Some("AAPL".into()),
                    multiplier: Some(100.0),
                    ..Default::default()
                }),
                order: Some(pb::Order {
                    action: Some("BUY".into()),
                    total_quantity: Some("2.5".into()),
                    order_type: Some("LMT".into()),
                    lmt_price: Some(10.0),
                    transmit: Some(true),
                    ..Default::default()
                }),
                attached_orders: None,
            },
        );
        let Request::PlaceOrder {
            order_id,
            contract,
            order,
        } = decode_request(&f).unwrap()
        else {
            panic!()
        };
        assert_eq!(order_id, 12);
        assert_eq!(contract.multiplier, "100");
        assert_eq!(order.total_quantity, 2.5);
        assert_eq!(order.lmt_price, Some(10.0));
        assert!(order.transmit);
    }

    #[test]
    fn negative_int_is_ten_byte_varint() {
        let mut out = Vec::new();
        encode_response(
            &Response::Error {
                id: -1,
                time: 0,
                code: 2104,
                message: "x".into(),
                advanced_order_reject_json: String::new(),
            },
            &mut out,
        );
        // len(4) + id(4) + tag(1) + 10-byte varint for -1.
        assert_eq!(
            &out[8..19],
            &[
                0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
            ]
        );
    }
}
