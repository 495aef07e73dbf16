//! Client message -> [`Request`], with exactly the field order `ib_async` 2.1's `client.py`
//! writes at the negotiated server version.

use super::fields::Reader;
use crate::api::{ComboLeg, Contract, ExecutionFilter, Order, Request, ScannerSubscription};
use crate::wire::DecodeError;

type R<T> = Result<T, DecodeError>;

/// Decode one frame body.
pub(crate) fn decode(version: i32, frame: &[u8]) -> R<Request> {
    let mut r = Reader::new(frame)?;
    let id = r.msg_id();
    let req = match id {
        1 => req_mkt_data(&mut r)?,
        2 => {
            r.skip("version")?;
            Request::CancelMktData {
                req_id: r.int("reqId")?,
            }
        }
        3 => place_order(version, &mut r)?,
        4 => {
            r.skip("version")?;
            let order_id = r.int("orderId")?;
            let manual_order_cancel_time = if version >= 169 {
                r.string("manualOrderCancelTime")?
            } else {
                String::new()
            };
            Request::CancelOrder {
                order_id,
                manual_order_cancel_time,
            }
        }
        5 => {
            r.skip("version")?;
            Request::ReqOpenOrders
        }
        6 => {
            r.skip("version")?;
            Request::ReqAccountUpdates {
                subscribe: r.boolean("subscribe")?,
                account: r.string("acctCode")?,
            }
        }
        7 => {
            r.skip("version")?;
            let req_id = r.int("reqId")?;
            let filter = ExecutionFilter {
                client_id: r.int("clientId")?,
                account: r.string("acctCode")?,
                time: r.string("time")?,
                symbol: r.string("symbol")?,
                sec_type: r.string("secType")?,
                exchange: r.string("exchange")?,
                side: r.string("side")?,
                ..Default::default()
            };
            Request::ReqExecutions { req_id, filter }
        }
        8 => {
            r.skip("version")?;
            Request::ReqIds {
                num_ids: r.int("numIds")?,
            }
        }
        9 => {
            r.skip("version")?;
            let req_id = r.int("reqId")?;
            let mut contract = contract12(&mut r)?;
            contract.include_expired = r.boolean("includeExpired")?;
            contract.sec_id_type = r.string("secIdType")?;
            contract.sec_id = r.string("secId")?;
            if version >= 176 {
                r.skip("issuerId")?;
            }
            Request::ReqContractDetails { req_id, contract }
        }
        10 => {
            r.skip("version")?;
            let req_id = r.int("reqId")?;
            let contract = contract12(&mut r)?;
            let num_rows = r.int("numRows")?;
            let is_smart_depth = r.boolean("isSmartDepth")?;
            r.skip("mktDepthOptions")?;
            Request::ReqMktDepth {
                req_id,
                contract,
                num_rows,
                is_smart_depth,
            }
        }
        11 => {
            r.skip("version")?;
            Request::CancelMktDepth {
                req_id: r.int("reqId")?,
                is_smart_depth: r.boolean("isSmartDepth")?,
            }
        }
        12 => {
            r.skip("version")?;
            Request::ReqNewsBulletins {
                all_messages: r.boolean("allMsgs")?,
            }
        }
        13 => {
            r.skip("version")?;
            Request::CancelNewsBulletins
        }
        15 => {
            r.skip("version")?;
            Request::ReqAutoOpenOrders {
                auto_bind: r.boolean("bAutoBind")?,
            }
        }
        16 => {
            r.skip("version")?;
            Request::ReqAllOpenOrders
        }
        17 => {
            r.skip("version")?;
            Request::ReqManagedAccts
        }
        20 => req_historical_data(&mut r)?,
        22 => req_scanner_subscription(&mut r)?,
        23 => {
            r.skip("version")?;
            Request::CancelScannerSubscription {
                req_id: r.int("reqId")?,
            }
        }
        24 => {
            r.skip("version")?;
            Request::ReqScannerParameters
        }
        25 => {
            r.skip("version")?;
            Request::CancelHistoricalData {
                req_id: r.int("reqId")?,
            }
        }
        49 => {
            r.skip("version")?;
            Request::ReqCurrentTime
        }
        50 => {
            r.skip("version")?;
            let req_id = r.int("reqId")?;
            let contract = contract12(&mut r)?;
            r.skip("barSize")?;
            let what_to_show = r.string("whatToShow")?;
            let use_rth = r.boolean("useRTH")?;
            r.skip("realTimeBarsOptions")?;
            Request::ReqRealTimeBars {
                req_id,
                contract,
                what_to_show,
                use_rth,
            }
        }
        51 => {
            r.skip("version")?;
            Request::CancelRealTimeBars {
                req_id: r.int("reqId")?,
            }
        }
        58 => {
            r.skip("version")?;
            Request::ReqGlobalCancel
        }
        59 => {
            r.skip("version")?;
            Request::ReqMarketDataType {
                market_data_type: r.int("marketDataType")?,
            }
        }
        61 => {
            r.skip("version")?;
            Request::ReqPositions
        }
        62 => {
            r.skip("version")?;
            Request::ReqAccountSummary {
                req_id: r.int("reqId")?,
                group: r.string("groupName")?,
                tags: r.string("tags")?,
            }
        }
        63 => {
            r.skip("version")?;
            Request::CancelAccountSummary {
                req_id: r.int("reqId")?,
            }
        }
        64 => {
            r.skip("version")?;
            Request::CancelPositions
        }
        71 => {
            r.skip("version")?;
            Request::StartApi {
                client_id: r.int("clientId")?,
                optional_capabilities: r.string("optCapab")?,
            }
        }
        74 => {
            r.skip("version")?;
            Request::ReqPositionsMulti {
                req_id: r.int("reqId")?,
                account: r.string("account")?,
                model_code: r.string("modelCode")?,
            }
        }
        75 => {
            r.skip("version")?;
            Request::CancelPositionsMulti {
                req_id: r.int("reqId")?,
            }
        }
        76 => {
            r.skip("version")?;
            Request::ReqAccountUpdatesMulti {
                req_id: r.int("reqId")?,
                account: r.string("account")?,
                model_code: r.string("modelCode")?,
                ledger_and_nlv: r.boolean("ledgerAndNLV")?,
            }
        }
        77 => {
            r.skip("version")?;
            Request::CancelAccountUpdatesMulti {
                req_id: r.int("reqId")?,
            }
        }
        78 => Request::ReqSecDefOptParams {
            req_id: r.int("reqId")?,
            underlying_symbol: r.string("underlyingSymbol")?,
            fut_fop_exchange: r.string("futFopExchange")?,
            underlying_sec_type: r.string("underlyingSecType")?,
            underlying_con_id: r.int("underlyingConId")?,
        },
        81 => Request::ReqMatchingSymbols {
            req_id: r.int("reqId")?,
            pattern: r.string("pattern")?,
        },
        87 => {
            let req_id = r.int("reqId")?;
            let mut contract = contract12(&mut r)?;
            contract.include_expired = r.boolean("includeExpired")?;
            let use_rth = r.boolean("useRTH")?;
            let what_to_show = r.string("whatToShow")?;
            let format_date = r.int("formatDate")?;
            Request::ReqHeadTimestamp {
                req_id,
                contract,
                what_to_show,
                use_rth,
                format_date,
            }
        }
        90 => Request::CancelHeadTimestamp {
            req_id: r.int("reqId")?,
        },
        91 => Request::ReqMarketRule {
            market_rule_id: r.int("marketRuleId")?,
        },
        92 => Request::ReqPnL {
            req_id: r.int("reqId")?,
            account: r.string("account")?,
            model_code: r.string("modelCode")?,
        },
        93 => Request::CancelPnL {
            req_id: r.int("reqId")?,
        },
        94 => Request::ReqPnLSingle {
            req_id: r.int("reqId")?,
            account: r.string("account")?,
            model_code: r.string("modelCode")?,
            con_id: r.int("conId")?,
        },
        95 => Request::CancelPnLSingle {
            req_id: r.int("reqId")?,
        },
        79 => Request::ReqSoftDollarTiers {
            req_id: r.int("reqId")?,
        },
        80 => Request::ReqFamilyCodes,
        82 => Request::ReqMktDepthExchanges,
        83 => Request::ReqSmartComponents {
            req_id: r.int("reqId")?,
            bbo_exchange: r.string("bboExchange")?,
        },
        85 => Request::ReqNewsProviders,
        86 => {
            let req_id = r.int("reqId")?;
            let con_id = r.int("conId")?;
            let provider_codes = r.string("providerCodes")?;
            r.skip("startDateTime")?;
            r.skip("endDateTime")?;
            r.skip("totalResults")?;
            r.skip("historicalNewsOptions")?;
            Request::ReqHistoricalNews {
                req_id,
                con_id,
                provider_codes,
            }
        }
        88 => {
            let req_id = r.int("reqId")?;
            let mut contract = contract12(&mut r)?;
            contract.include_expired = r.boolean("includeExpired")?;
            Request::ReqHistogramData {
                req_id,
                contract,
                use_rth: r.boolean("useRTH")?,
                time_period: r.string("timePeriod")?,
            }
        }
        104 => Request::ReqUserInfo {
            req_id: r.int("reqId")?,
        },
        96 => {
            let req_id = r.int("reqId")?;
            let mut contract = contract12(&mut r)?;
            contract.include_expired = r.boolean("includeExpired")?;
            let start_date_time = r.string("startDateTime")?;
            let end_date_time = r.string("endDateTime")?;
            let number_of_ticks = r.int("numberOfTicks")?;
            let what_to_show = r.string("whatToShow")?;
            let use_rth = r.boolean("useRth")?;
            let ignore_size = r.boolean("ignoreSize")?;
            r.skip("miscOptions")?;
            Request::ReqHistoricalTicks {
                req_id,
                contract,
                start_date_time,
                end_date_time,
                number_of_ticks,
                what_to_show,
                use_rth,
                ignore_size,
            }
        }
        97 => {
            let req_id = r.int("reqId")?;
            let contract = contract12(&mut r)?;
            Request::ReqTickByTickData {
                req_id,
                contract,
                tick_type: r.string("tickType")?,
                number_of_ticks: r.int("numberOfTicks")?,
                ignore_size: r.boolean("ignoreSize")?,
            }
        }
        98 => Request::CancelTickByTickData {
            req_id: r.int("reqId")?,
        },
        99 => Request::ReqCompletedOrders {
            api_only: r.boolean("apiOnly")?,
        },
        _ => return unsupported(r),
    };
    r.finish()?;
    Ok(req)
}

/// Messages the protocol defines but the simulator does not implement: reported as
/// [`Request::Unsupported`] (with the request id when the message carries one), anything else is
/// an unknown message id.
fn unsupported(mut r: Reader<'_>) -> R<Request> {
    let msg_id = r.msg_id();
    // Position of the request id: after a version field (1) or right after the id (0).
    let req_id_at: Option<usize> = match msg_id {
        21 | 52 | 53 | 54 | 55 | 56 | 57 | 67 | 68 | 69 | 70 => Some(1),
        84 | 89 | 100 | 101 | 102 | 103 | 104 => Some(0),
        14 | 18 | 19 | 65 | 66 | 72 | 73 => None,
        _ => return Err(DecodeError::UnknownMessage(msg_id)),
    };
    let req_id = match req_id_at {
        Some(skip) => {
            let mut ok = true;
            for _ in 0..skip {
                ok &= r.skip("version").is_ok();
            }
            if ok { r.int("reqId").ok() } else { None }
        }
        None => None,
    };
    Ok(Request::Unsupported { msg_id, req_id })
}

/// The 12-field contract block: conId, symbol, secType, lastTradeDateOrContractMonth, strike,
/// right, multiplier, exchange, primaryExchange, currency, localSymbol, tradingClass.
fn contract12(r: &mut Reader<'_>) -> R<Contract> {
    Ok(Contract {
        con_id: r.int("conId")?,
        symbol: r.string("symbol")?,
        sec_type: r.string("secType")?,
        last_trade_date_or_contract_month: r.string("lastTradeDateOrContractMonth")?,
        strike: r.float("strike")?,
        right: r.string("right")?,
        multiplier: r.string("multiplier")?,
        exchange: r.string("exchange")?,
        primary_exchange: r.string("primaryExchange")?,
        currency: r.string("currency")?,
        local_symbol: r.string("localSymbol")?,
        trading_class: r.string("tradingClass")?,
        ..Default::default()
    })
}

/// BAG legs as in reqMktData / reqHistoricalData: count, then conId, ratio, action, exchange.
fn short_legs(r: &mut Reader<'_>, c: &mut Contract) -> R<()> {
    let n = r.count("comboLegsCount", 4)?;
    for _ in 0..n {
        c.combo_legs.push(ComboLeg {
            con_id: r.int("leg.conId")?,
            ratio: r.int("leg.ratio")?,
            action: r.string("leg.action")?,
            exchange: r.string("leg.exchange")?,
        });
    }
    Ok(())
}

/// Delta-neutral contract: flag, then conId, delta, price when set (ignored by the simulator).
fn delta_neutral(r: &mut Reader<'_>) -> R<()> {
    if r.boolean("deltaNeutralContractPresent")? {
        r.int("deltaNeutral.conId")?;
        r.float("deltaNeutral.delta")?;
        r.float("deltaNeutral.price")?;
    }
    Ok(())
}

fn req_mkt_data(r: &mut Reader<'_>) -> R<Request> {
    r.skip("version")?;
    let req_id = r.int("reqId")?;
    let mut contract = contract12(r)?;
    if contract.sec_type == "BAG" {
        short_legs(r, &mut contract)?;
    }
    delta_neutral(r)?;
    let generic_tick_list = r.string("genericTickList")?;
    let snapshot = r.boolean("snapshot")?;
    let regulatory_snapshot = r.boolean("regulatorySnapshot")?;
    r.skip("mktDataOptions")?;
    Ok(Request::ReqMktData {
        req_id,
        contract,
        generic_tick_list,
        snapshot,
        regulatory_snapshot,
    })
}

fn req_historical_data(r: &mut Reader<'_>) -> R<Request> {
    let req_id = r.int("reqId")?;
    let mut contract = contract12(r)?;
    contract.include_expired = r.boolean("includeExpired")?;
    let end_date_time = r.string("endDateTime")?;
    let bar_size = r.string("barSizeSetting")?;
    let duration = r.string("durationStr")?;
    let use_rth = r.boolean("useRTH")?;
    let what_to_show = r.string("whatToShow")?;
    let format_date = r.int("formatDate")?;
    if contract.sec_type == "BAG" {
        short_legs(r, &mut contract)?;
    }
    let keep_up_to_date = r.boolean("keepUpToDate")?;
    r.skip("chartOptions")?;
    Ok(Request::ReqHistoricalData {
        req_id,
        contract,
        end_date_time,
        bar_size,
        duration,
        use_rth,
        what_to_show,
        format_date,
        keep_up_to_date,
    })
}

fn req_scanner_subscription(r: &mut Reader<'_>) -> R<Request> {
    let req_id = r.int("reqId")?;
    let mut s = ScannerSubscription {
        number_of_rows: r.opt_int("numberOfRows")?.unwrap_or(-1),
        instrument: r.string("instrument")?,
        location_code: r.string("locationCode")?,
        scan_code: r.string("scanCode")?,
        above_price: r.opt_float("abovePrice")?,
        below_price: r.opt_float("belowPrice")?,
        above_volume: r.opt_int("aboveVolume")?,
        market_cap_above: r.opt_float("marketCapAbove")?,
        market_cap_below: r.opt_float("marketCapBelow")?,
        ..Default::default()
    };
    for name in [
        "moodyRatingAbove",
        "moodyRatingBelow",
        "spRatingAbove",
        "spRatingBelow",
        "maturityDateAbove",
        "maturityDateBelow",
    ] {
        r.skip(name)?;
    }
    r.opt_float("couponRateAbove")?;
    r.opt_float("couponRateBelow")?;
    r.skip("excludeConvertible")?;
    r.opt_int("averageOptionVolumeAbove")?;
    r.skip("scannerSettingPairs")?;
    s.stock_type_filter = r.string("stockTypeFilter")?;
    r.skip("scannerSubscriptionFilterOptions")?;
    r.skip("scannerSubscriptionOptions")?;
    Ok(Request::ReqScannerSubscription {
        req_id,
        subscription: s,
    })
}

/// Number of fields after `condType` for each order-condition type.
fn condition_fields(r: &Reader<'_>, cond_type: i32) -> R<usize> {
    Ok(match cond_type {
        1 => 6, // conjunction, isMore, price, conId, exch, triggerMethod
        3 => 3, // conjunction, isMore, time
        4 => 3, // conjunction, isMore, percent
        5 => 4, // conjunction, secType, exch, symbol
        6 => 5, // conjunction, isMore, volume, conId, exch
        7 => 5, // conjunction, isMore, changePercent, conId, exch
        other => return Err(r.err(format!("unknown order condition type {other}"))),
    })
}

/// placeOrder (3), the big one. Field order follows `ib_async.client.Client.placeOrder`.
fn place_order(version: i32, r: &mut Reader<'_>) -> R<Request> {
    let order_id = r.int("orderId")?;
    let mut c = contract12(r)?;
    c.sec_id_type = r.string("secIdType")?;
    c.sec_id = r.string("secId")?;
    let mut o = Order {
        order_id,
        action: r.string("action")?,
        total_quantity: r.float("totalQuantity")?,
        order_type: r.string("orderType")?,
        lmt_price: r.opt_float("lmtPrice")?,
        aux_price: r.opt_float("auxPrice")?,
        tif: r.string("tif")?,
        oca_group: r.string("ocaGroup")?,
        account: r.string("account")?,
        ..Default::default()
    };
    r.skip("openClose")?;
    r.int("origin")?;
    o.order_ref = r.string("orderRef")?;
    o.transmit = r.boolean("transmit")?;
    o.parent_id = r.int("parentId")?;
    r.boolean("blockOrder")?;
    r.boolean("sweepToFill")?;
    r.opt_int("displaySize")?;
    r.int("triggerMethod")?;
    o.outside_rth = r.boolean("outsideRth")?;
    o.hidden = r.boolean("hidden")?;

    if c.sec_type == "BAG" {
        let n = r.count("comboLegsCount", 8)?;
        for _ in 0..n {
            c.combo_legs.push(ComboLeg {
                con_id: r.int("leg.conId")?,
                ratio: r.int("leg.ratio")?,
                action: r.string("leg.action")?,
                exchange: r.string("leg.exchange")?,
            });
            r.int("leg.openClose")?;
            r.int("leg.shortSaleSlot")?;
            r.skip("leg.designatedLocation")?;
            r.int("leg.exemptCode")?;
        }
        let n = r.count("orderComboLegsCount", 1)?;
        for _ in 0..n {
            o.order_combo_legs_prices
                .push(r.opt_float("orderComboLeg.price")?);
        }
        let n = r.count("smartComboRoutingParamsCount", 2)?;
        for _ in 0..n {
            let tag = r.string("smartComboRoutingParam.tag")?;
            let value = r.string("smartComboRoutingParam.value")?;
            o.smart_combo_routing_params.push((tag, value));
        }
    }

    r.skip("sharesAllocation")?;
    r.opt_float("discretionaryAmt")?;
    o.good_after_time = r.string("goodAfterTime")?;
    o.good_till_date = r.string("goodTillDate")?;
    r.skip("faGroup")?;
    r.skip("faMethod")?;
    r.skip("faPercentage")?;
    if version < 177 {
        r.skip("faProfile")?;
    }
    r.skip("modelCode")?;
    r.int("shortSaleSlot")?;
    r.skip("designatedLocation")?;
    r.int("exemptCode")?;
    o.oca_type = r.int("ocaType")?;
    r.skip("rule80A")?;
    r.skip("settlingFirm")?;
    o.all_or_none = r.boolean("allOrNone")?;
    o.min_qty = r.opt_int("minQty")?;
    r.opt_float("percentOffset")?;
    r.boolean("eTradeOnly")?;
    r.boolean("firmQuoteOnly")?;
    r.opt_float("nbboPriceCap")?;
    r.opt_int("auctionStrategy")?;
    r.opt_float("startingPrice")?;
    r.opt_float("stockRefPrice")?;
    r.opt_float("delta")?;
    r.opt_float("stockRangeLower")?;
    r.opt_float("stockRangeUpper")?;
    r.boolean("overridePercentageConstraints")?;
    r.opt_float("volatility")?;
    r.opt_int("volatilityType")?;
    let dn_order_type = r.string("deltaNeutralOrderType")?;
    r.opt_float("deltaNeutralAuxPrice")?;
    if !dn_order_type.is_empty() {
        r.int("deltaNeutralConId")?;
        r.skip("deltaNeutralSettlingFirm")?;
        r.skip("deltaNeutralClearingAccount")?;
        r.skip("deltaNeutralClearingIntent")?;
        r.skip("deltaNeutralOpenClose")?;
        r.boolean("deltaNeutralShortSale")?;
        r.int("deltaNeutralShortSaleSlot")?;
        r.skip("deltaNeutralDesignatedLocation")?;
    }
    r.boolean("continuousUpdate")?;
    r.opt_int("referencePriceType")?;
    o.trail_stop_price = r.opt_float("trailStopPrice")?;
    o.trailing_percent = r.opt_float("trailingPercent")?;
    r.opt_int("scaleInitLevelSize")?;
    r.opt_int("scaleSubsLevelSize")?;
    let scale_inc = r.opt_float("scalePriceIncrement")?;
    if scale_inc.is_some_and(|v| v > 0.0) {
        r.opt_float("scalePriceAdjustValue")?;
        r.opt_int("scalePriceAdjustInterval")?;
        r.opt_float("scaleProfitOffset")?;
        r.boolean("scaleAutoReset")?;
        r.opt_int("scaleInitPosition")?;
        r.opt_int("scaleInitFillQty")?;
        r.boolean("scaleRandomPercent")?;
    }
    r.skip("scaleTable")?;
    r.skip("activeStartTime")?;
    r.skip("activeStopTime")?;
    let hedge_type = r.string("hedgeType")?;
    if !hedge_type.is_empty() {
        r.skip("hedgeParam")?;
    }
    r.boolean("optOutSmartRouting")?;
    r.skip("clearingAccount")?;
    r.skip("clearingIntent")?;
    r.boolean("notHeld")?;
    delta_neutral(r)?;
    o.algo_strategy = r.string("algoStrategy")?;
    if !o.algo_strategy.is_empty() {
        let n = r.count("algoParamsCount", 2)?;
        for _ in 0..n {
            let tag = r.string("algoParam.tag")?;
            let value = r.string("algoParam.value")?;
            o.algo_params.push((tag, value));
        }
    }
    r.skip("algoId")?;
    o.what_if = r.boolean("whatIf")?;
    r.skip("orderMiscOptions")?;
    r.boolean("solicited")?;
    r.boolean("randomizeSize")?;
    r.boolean("randomizePrice")?;
    if o.order_type == "PEG BENCH" || o.order_type == "PEGBENCH" {
        r.int("referenceContractId")?;
        r.boolean("isPeggedChangeAmountDecrease")?;
        r.opt_float("peggedChangeAmount")?;
        r.opt_float("referenceChangeAmount")?;
        r.skip("referenceExchangeId")?;
    }
    let n = r.count("conditionsCount", 1)?;
    if n > 0 {
        for _ in 0..n {
            let cond_type = r.int("condition.condType")?;
            for _ in 0..condition_fields(r, cond_type)? {
                r.skip("condition field")?;
            }
        }
        r.boolean("conditionsIgnoreRth")?;
        r.boolean("conditionsCancelOrder")?;
    }
    r.skip("adjustedOrderType")?;
    r.opt_float("triggerPrice")?;
    r.opt_float("lmtPriceOffset")?;
    r.opt_float("adjustedStopPrice")?;
    r.opt_float("adjustedStopLimitPrice")?;
    r.opt_float("adjustedTrailingAmount")?;
    r.int("adjustableTrailingUnit")?;
    r.skip("extOperator")?;
    r.skip("softDollarTier.name")?;
    r.skip("softDollarTier.val")?;
    r.opt_float("cashQty")?;
    r.skip("mifid2DecisionMaker")?;
    r.skip("mifid2DecisionAlgo")?;
    r.skip("mifid2ExecutionTrader")?;
    r.skip("mifid2ExecutionAlgo")?;
    r.boolean("dontUseAutoPriceForHedge")?;
    r.boolean("isOmsContainer")?;
    r.boolean("discretionaryUpToLimitPrice")?;
    r.skip("usePriceMgmtAlgo")?;
    if version >= 158 {
        r.opt_int("duration")?;
    }
    if version >= 160 {
        r.opt_int("postToAts")?;
    }
    if version >= 162 {
        r.boolean("autoCancelParent")?;
    }
    if version >= 166 {
        r.skip("advancedErrorOverride")?;
    }
    if version >= 169 {
        r.skip("manualOrderTime")?;
    }
    if version >= 170 {
        if c.exchange == "IBKRATS" {
            r.opt_int("minTradeQty")?;
        }
        match o.order_type.as_str() {
            "PEG BEST" | "PEGBEST" => {
                r.opt_int("minCompeteSize")?;
                let offset = r.opt_float("competeAgainstBestOffset")?;
                if offset == Some(f64::INFINITY) {
                    r.opt_float("midOffsetAtWhole")?;
                    r.opt_float("midOffsetAtHalf")?;
                }
            }
            "PEG MID" | "PEGMID" => {
                r.opt_float("midOffsetAtWhole")?;
                r.opt_float("midOffsetAtHalf")?;
            }
            _ => {}
        }
    }
    Ok(Request::PlaceOrder {
        order_id,
        contract: c,
        order: o,
    })
}
