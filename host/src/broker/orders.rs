//! The single order path. Every order — from an MCP tool or a WASM plugin — goes through
//! [`Broker::place_order`] / [`Broker::cancel_order`]: validation, guardrails from the
//! configuration, then the hash-chained audit log.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use ibapi::contracts::Contract;
use ibapi::orders::{
    Action, CancelOrder, ExecutionFilter, Executions, OcaType, Order, Orders, PlaceOrder,
    TimeInForce,
};
use ibapi::subscriptions::SubscriptionItem;
use ibapi::subscriptions::r#async::Subscription;
use serde_json::{Value, json};

use super::convert::{execution, open_order, order_status, to_contract};
use super::{
    BracketRequest, BracketStatus, Broker, BrokerError, BrokerResult, ContractSpec, Execution,
    ExecutionQuery, OpenOrder, OrderChanges, OrderOrigin, OrderPreview, OrderRequest, OrderStatus,
    Side,
};
use crate::config::GuardrailsConfig;

/// Order types the host knows how to validate.
const KNOWN_ORDER_TYPES: &[&str] = &[
    "MKT",
    "LMT",
    "STP",
    "STP LMT",
    "MOC",
    "LOC",
    "MIT",
    "LIT",
    "TRAIL",
    "TRAIL LIMIT",
    "REL",
];
const KNOWN_TIFS: &[&str] = &["DAY", "GTC", "IOC", "GTD", "OPG", "FOK", "DTC"];
/// TWS code confirming a cancellation.
const ORDER_CANCELLED: i32 = 202;

fn positive(arg: &str, v: Option<f64>) -> BrokerResult<f64> {
    match v {
        Some(p) if p.is_finite() && p > 0.0 => Ok(p),
        Some(p) => Err(BrokerError::invalid(
            arg,
            format!("{p} must be a positive price"),
        )),
        None => Err(BrokerError::invalid(arg, "is required for this orderType")),
    }
}

/// Validate an order request; returns the normalised order type.
pub fn validate(req: &OrderRequest) -> BrokerResult<String> {
    if !(req.total_quantity.is_finite() && req.total_quantity > 0.0) {
        return Err(BrokerError::invalid(
            "totalQuantity",
            format!("{} must be a positive number", req.total_quantity),
        ));
    }
    let ot = req.order_type.trim().to_ascii_uppercase();
    if !KNOWN_ORDER_TYPES.contains(&ot.as_str()) {
        return Err(BrokerError::invalid(
            "orderType",
            format!(
                "{:?} is not one of {}",
                req.order_type,
                KNOWN_ORDER_TYPES.join(", ")
            ),
        ));
    }
    match ot.as_str() {
        "LMT" | "LOC" => {
            positive("lmtPrice", req.lmt_price)?;
        }
        "STP" | "MIT" => {
            positive("auxPrice", req.aux_price)?;
        }
        "STP LMT" | "LIT" => {
            positive("lmtPrice", req.lmt_price)?;
            positive("auxPrice", req.aux_price)?;
        }
        _ => {}
    }
    let tif = req.tif.trim().to_ascii_uppercase();
    if !tif.is_empty() && !KNOWN_TIFS.contains(&tif.as_str()) {
        return Err(BrokerError::invalid(
            "tif",
            format!("{:?} is not one of {}", req.tif, KNOWN_TIFS.join(", ")),
        ));
    }
    Ok(ot)
}

fn multiplier(req: &OrderRequest) -> f64 {
    match req.contract.multiplier.trim().parse::<f64>() {
        Ok(m) if m > 0.0 => m,
        _ => match req.contract.sec_type.trim().to_ascii_uppercase().as_str() {
            "OPT" | "FOP" => 100.0,
            _ => 1.0,
        },
    }
}

/// An order that passed validation and the guardrails, ready to submit.
struct Prepared {
    contract: Contract,
    order: Order,
}

/// What the one order pipeline does with a prepared order; names the audit events.
#[derive(Clone, Copy, Debug)]
enum Submit {
    /// A new order under a fresh order id.
    New,
    /// placeOrder again under an existing id (TWS's modify).
    Modify(i32),
}

impl Submit {
    /// Audit events: requested, done, refused (validation / guardrail), failed.
    fn events(self) -> [&'static str; 4] {
        match self {
            Submit::New => ["place_requested", "placed", "place_refused", "place_failed"],
            Submit::Modify(_) => [
                "modify_requested",
                "modified",
                "modify_refused",
                "modify_failed",
            ],
        }
    }
}

/// Order types that carry a limit price / an aux (stop, trigger, offset) price.
fn has_limit(order_type: &str) -> bool {
    order_type.contains("LMT") || order_type == "LOC" || order_type == "LIT"
}
fn has_aux(order_type: &str) -> bool {
    matches!(
        order_type,
        "STP" | "STP LMT" | "MIT" | "LIT" | "TRAIL" | "TRAIL LIMIT" | "REL"
    )
}

/// The order request that re-sends `current` with `changes` applied (for a modify).
pub fn modified_request(current: &OpenOrder, changes: &OrderChanges) -> BrokerResult<OrderRequest> {
    if changes.is_empty() {
        return Err(BrokerError::invalid(
            "changes",
            "nothing to change: give totalQuantity, lmtPrice and/or auxPrice",
        ));
    }
    let order_type = current.order_type.trim().to_ascii_uppercase();
    if changes.lmt_price.is_some() && !has_limit(&order_type) {
        return Err(BrokerError::invalid(
            "lmtPrice",
            format!(
                "order {} is a {order_type} order, which has no limit price",
                current.order_id
            ),
        ));
    }
    if changes.aux_price.is_some() && !has_aux(&order_type) {
        return Err(BrokerError::invalid(
            "auxPrice",
            format!(
                "order {} is a {order_type} order, which has no aux (stop) price",
                current.order_id
            ),
        ));
    }
    let c = &current.contract;
    Ok(OrderRequest {
        contract: ContractSpec {
            symbol: c.symbol.clone(),
            sec_type: c.sec_type.clone(),
            exchange: c.exchange.clone(),
            currency: c.currency.clone(),
            con_id: c.con_id,
            primary_exchange: c.primary_exchange.clone(),
            last_trade_date_or_contract_month: c.last_trade_date_or_contract_month.clone(),
            strike: c.strike,
            right: c.right.clone(),
            multiplier: c.multiplier.clone(),
        },
        action: Side::parse("action", &current.action)?,
        total_quantity: changes.total_quantity.unwrap_or(current.total_quantity),
        order_type,
        lmt_price: changes.lmt_price.or(current.lmt_price),
        aux_price: changes.aux_price.or(current.aux_price),
        tif: current.tif.clone(),
        account: current.account.clone(),
        order_ref: current.order_ref.clone(),
    })
}

fn preview(s: &ibapi::orders::OrderState) -> OrderPreview {
    OrderPreview {
        init_margin_before: s.initial_margin_before,
        init_margin_change: s.initial_margin_change,
        init_margin_after: s.initial_margin_after,
        maint_margin_before: s.maintenance_margin_before,
        maint_margin_change: s.maintenance_margin_change,
        maint_margin_after: s.maintenance_margin_after,
        equity_with_loan_before: s.equity_with_loan_before,
        equity_with_loan_change: s.equity_with_loan_change,
        equity_with_loan_after: s.equity_with_loan_after,
        commission: s.commission,
        min_commission: s.minimum_commission,
        max_commission: s.maximum_commission,
        commission_currency: s.commission_currency.clone(),
        margin_currency: s.margin_currency.clone(),
        warning_text: s.warning_text.clone(),
    }
}

/// Bracket legs in submission order.
const LEG_NAMES: [&str; 3] = ["parent", "takeProfit", "stopLoss"];
/// Makes OCA group names unique within this process.
static OCA_SEQ: AtomicU64 = AtomicU64::new(0);

fn finite_positive(arg: &str, v: f64) -> BrokerResult<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(BrokerError::invalid(
            arg,
            format!("{v} must be a positive price"),
        ))
    }
}

/// Sanity checks of a bracket's prices: for a BUY stop < entry < take-profit (stop <
/// take-profit for a market entry); mirrored for a SELL.
pub fn validate_bracket(req: &BracketRequest) -> BrokerResult<()> {
    let tp = finite_positive("takeProfit", req.take_profit)?;
    let sl = finite_positive("stopLoss", req.stop_loss)?;
    let entry = req
        .entry_price
        .map(|e| finite_positive("entryPrice", e))
        .transpose()?;
    let (side, rule) = match req.action {
        Side::Buy => ("BUY", "stop < entry < take-profit"),
        Side::Sell => ("SELL", "take-profit < entry < stop"),
    };
    // `below(a, b)`: a must be strictly below b for a BUY, strictly above for a SELL.
    let below = |a: f64, b: f64| match req.action {
        Side::Buy => a < b,
        Side::Sell => a > b,
    };
    let (under, over) = match req.action {
        Side::Buy => ("below", "above"),
        Side::Sell => ("above", "below"),
    };
    match entry {
        Some(e) => {
            if !below(sl, e) {
                return Err(BrokerError::invalid(
                    "stopLoss",
                    format!(
                        "{sl} must be {under} the entry price {e} for a {side} bracket ({rule})"
                    ),
                ));
            }
            if !below(e, tp) {
                return Err(BrokerError::invalid(
                    "takeProfit",
                    format!(
                        "{tp} must be {over} the entry price {e} for a {side} bracket ({rule})"
                    ),
                ));
            }
        }
        None => {
            if !below(sl, tp) {
                return Err(BrokerError::invalid(
                    "stopLoss",
                    format!(
                        "{sl} must be {under} the take-profit {tp} for a {side} bracket ({rule})"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The three legs of a bracket as plain order requests (links are added at submission).
pub fn bracket_legs(req: &BracketRequest) -> [OrderRequest; 3] {
    let exit = match req.action {
        Side::Buy => Side::Sell,
        Side::Sell => Side::Buy,
    };
    let leg = |action, order_type: &str, lmt_price, aux_price| OrderRequest {
        contract: req.contract.clone(),
        action,
        total_quantity: req.total_quantity,
        order_type: order_type.into(),
        lmt_price,
        aux_price,
        tif: req.tif.clone(),
        account: req.account.clone(),
        order_ref: req.order_ref.clone(),
    };
    [
        match req.entry_price {
            Some(p) => leg(req.action, "LMT", Some(p), None),
            None => leg(req.action, "MKT", None, None),
        },
        leg(exit, "LMT", Some(req.take_profit), None),
        leg(exit, "STP", None, Some(req.stop_loss)),
    ]
}

/// Name the bracket leg in an error.
fn in_leg(leg: &str, e: BrokerError) -> BrokerError {
    match e {
        BrokerError::InvalidArgument { arg, reason } => BrokerError::InvalidArgument {
            arg,
            reason: format!("{reason} (bracket {leg} leg)"),
        },
        BrokerError::Guardrail { rule, reason } => BrokerError::Guardrail {
            rule,
            reason: format!("bracket {leg} leg: {reason}"),
        },
        BrokerError::Tws { code, message } => BrokerError::Tws {
            code,
            message: format!("bracket {leg} leg: {message}"),
        },
        other => other,
    }
}

/// The first status TWS reports for a submitted order.
async fn first_status(
    order_id: i32,
    mut sub: Subscription<PlaceOrder>,
    quantity: f64,
) -> BrokerResult<OrderStatus> {
    let mut seen_open: Option<String> = None;
    while let Some(item) = sub.next().await {
        match item {
            Ok(SubscriptionItem::Data(PlaceOrder::OrderStatus(s))) => {
                return Ok(order_status(&s));
            }
            Ok(SubscriptionItem::Data(PlaceOrder::OpenOrder(o))) => {
                seen_open = Some(o.order_state.status.to_string());
            }
            Ok(SubscriptionItem::Data(_)) => {}
            Ok(SubscriptionItem::Notice(n)) => {
                tracing::info!(order_id, code = n.code, "order notice: {}", n.message)
            }
            Err(e) => return Err(e.into()),
        }
    }
    match seen_open {
        Some(status) => Ok(OrderStatus {
            order_id,
            status,
            remaining: quantity,
            ..Default::default()
        }),
        None => Err(BrokerError::Other(format!(
            "no status received for order {order_id}"
        ))),
    }
}

/// The guardrail policy for one validated order (`order_type` as [`validate`] normalised it),
/// in the order the rules are checked: `read_only`, `allowed_sec_types`,
/// `allowed_order_types`, `max_order_quantity`, `max_order_notional`. The first rule that
/// refuses is the answer ([`BrokerError::Guardrail`] naming the rule and the numbers).
///
/// Pure apart from `market_price`, which prices the order for the notional check when it
/// carries no positive limit / aux price: `Ok(Some(p))` a reference price, `Ok(None)` no
/// price in the quote, `Err` the quote failed. It is called at most once, and only when
/// every earlier rule passed.
pub async fn evaluate<F>(
    g: &GuardrailsConfig,
    req: &OrderRequest,
    order_type: &str,
    market_price: impl FnOnce() -> F,
) -> BrokerResult<()>
where
    F: Future<Output = BrokerResult<Option<f64>>>,
{
    let refuse = |rule: &str, reason: String| {
        Err(BrokerError::Guardrail {
            rule: rule.to_string(),
            reason,
        })
    };
    if g.read_only {
        return refuse("read_only", "the host is in read-only mode".into());
    }
    let sec_type = req.contract.sec_type.trim().to_ascii_uppercase();
    if !g
        .allowed_sec_types
        .iter()
        .any(|s| s.eq_ignore_ascii_case(&sec_type))
    {
        return refuse(
            "allowed_sec_types",
            format!(
                "secType {sec_type} is not allowed (allowed: {})",
                g.allowed_sec_types.join(", ")
            ),
        );
    }
    if !g
        .allowed_order_types
        .iter()
        .any(|s| s.eq_ignore_ascii_case(order_type))
    {
        return refuse(
            "allowed_order_types",
            format!(
                "orderType {order_type} is not allowed (allowed: {})",
                g.allowed_order_types.join(", ")
            ),
        );
    }
    if req.total_quantity > g.max_order_quantity {
        return refuse(
            "max_order_quantity",
            format!(
                "quantity {} exceeds the maximum {}",
                req.total_quantity, g.max_order_quantity
            ),
        );
    }
    let price = match (req.lmt_price, req.aux_price) {
        (Some(p), _) if p > 0.0 => p,
        (_, Some(p)) if p > 0.0 => p,
        _ => match market_price().await {
            Ok(Some(p)) => p,
            Ok(None) => {
                return refuse(
                    "max_order_notional",
                    format!(
                        "no price available for {} to check the notional limit",
                        req.contract.symbol
                    ),
                );
            }
            Err(e) => {
                return refuse(
                    "max_order_notional",
                    format!(
                        "cannot price {} to check the notional limit: {e}",
                        req.contract.symbol
                    ),
                );
            }
        },
    };
    let notional = req.total_quantity * price * multiplier(req);
    if notional > g.max_order_notional {
        return refuse(
            "max_order_notional",
            format!(
                "notional {notional:.2} ({} x {price:.4}) exceeds the maximum {:.2}",
                req.total_quantity, g.max_order_notional
            ),
        );
    }
    Ok(())
}

/// The checks of a cancellation before it is sent: a positive order id, and not read-only.
pub fn check_cancel(g: &GuardrailsConfig, order_id: i32) -> BrokerResult<()> {
    if order_id <= 0 {
        return Err(BrokerError::invalid(
            "orderId",
            "must be a positive order id",
        ));
    }
    if g.read_only {
        return Err(BrokerError::Guardrail {
            rule: "read_only".into(),
            reason: "the host is in read-only mode".into(),
        });
    }
    Ok(())
}

impl Broker {
    /// Apply the configured guardrails ([`evaluate`]). Market orders are valued at a quote
    /// snapshot's reference price (last, else mid, else close).
    async fn check_guardrails(&self, req: &OrderRequest, order_type: &str) -> BrokerResult<()> {
        evaluate(self.guardrails(), req, order_type, || async {
            self.quote(&req.contract).await.map(|q| q.reference_price())
        })
        .await
    }

    /// Validation and guardrails for one order, then the ibapi order to submit (transmitted,
    /// unlinked). Every order placed by this host — single or a bracket leg — passes here.
    async fn prepare(&self, req: &OrderRequest) -> BrokerResult<Prepared> {
        let order_type = validate(req)?;
        let contract = to_contract(&req.contract)?;
        self.client()?;
        self.check_guardrails(req, &order_type).await?;
        let tif = req.tif.trim().to_ascii_uppercase();
        let order = Order {
            action: match req.action {
                Side::Buy => Action::Buy,
                Side::Sell => Action::Sell,
            },
            total_quantity: req.total_quantity,
            order_type: order_type.clone(),
            limit_price: req.lmt_price.filter(|_| has_limit(&order_type)),
            aux_price: req.aux_price,
            tif: if tif.is_empty() {
                TimeInForce::Day
            } else {
                tif.parse::<TimeInForce>().unwrap_or(TimeInForce::Day)
            },
            account: req.account.trim().to_string(),
            order_ref: req.order_ref.clone(),
            transmit: true,
            ..Order::default()
        };
        Ok(Prepared { contract, order })
    }

    /// Record the outcome of one order (or bracket leg) in the audit log.
    fn audit_outcome(
        &self,
        kind: Submit,
        origin: &str,
        record: &Value,
        result: &BrokerResult<OrderStatus>,
    ) {
        let mut record = record.clone();
        let [_, done, refused, failed] = kind.events();
        let (event, key, value) = match result {
            Ok(status) => (done, "status", json!(status)),
            Err(e @ (BrokerError::Guardrail { .. } | BrokerError::InvalidArgument { .. })) => {
                (refused, "error", json!(e.to_string()))
            }
            Err(e) => (failed, "error", json!(e.to_string())),
        };
        if let Some(obj) = record.as_object_mut() {
            obj.insert(key.into(), value);
        }
        self.audit().append(event, origin, record);
    }

    /// Place an order: validate, apply guardrails, audit, submit, and return the first status.
    pub async fn place_order(
        &self,
        req: &OrderRequest,
        origin: &OrderOrigin,
    ) -> BrokerResult<OrderStatus> {
        self.submit(req, origin, Submit::New, None).await
    }

    /// The one pipeline of a single order: audit the request, validate, apply guardrails,
    /// placeOrder (a fresh id, or the existing id for a modify, keeping the original's
    /// parent / OCA links), audit the outcome.
    async fn submit(
        &self,
        req: &OrderRequest,
        origin: &OrderOrigin,
        kind: Submit,
        original: Option<&Order>,
    ) -> BrokerResult<OrderStatus> {
        let origin_s = origin.to_string();
        let record = match kind {
            Submit::New => json!({ "request": req }),
            Submit::Modify(id) => json!({ "orderId": id, "request": req }),
        };
        self.audit()
            .append(kind.events()[0], &origin_s, record.clone());
        let result = async {
            let mut p = self.prepare(req).await?;
            if let Some(o) = original {
                p.order.parent_id = o.parent_id;
                p.order.oca_group = o.oca_group.clone();
                p.order.oca_type = o.oca_type;
                p.order.outside_rth = o.outside_rth;
            }
            let operation = match kind {
                Submit::New => "place order",
                Submit::Modify(_) => "modify order",
            };
            self.call(operation, |c| async move {
                let order_id = match kind {
                    Submit::New => c.next_order_id(),
                    Submit::Modify(id) => id,
                };
                let sub = c.place_order(order_id, &p.contract, &p.order).await?;
                first_status(order_id, sub, p.order.total_quantity).await
            })
            .await
        }
        .await;
        self.audit_outcome(kind, &origin_s, &record, &result);
        result
    }

    /// What-if preview of an order: the same validation and guardrails as
    /// [`Broker::place_order`] (a refused order's preview is refused with the same error), then
    /// a what-if placeOrder; TWS answers with the margin and commission impact and places
    /// nothing. Not audited: the audit log records order actions, and a preview is none.
    pub async fn preview_order(
        &self,
        req: &OrderRequest,
        origin: &OrderOrigin,
    ) -> BrokerResult<OrderPreview> {
        let mut p = self.prepare(req).await?;
        p.order.what_if = true;
        tracing::debug!(%origin, symbol = %req.contract.symbol, "what-if preview");
        self.call("preview order", |c| async move {
            let order_id = c.next_order_id();
            let mut sub = c.place_order(order_id, &p.contract, &p.order).await?;
            while let Some(item) = sub.next().await {
                match item {
                    Ok(SubscriptionItem::Data(PlaceOrder::OpenOrder(o))) => {
                        return Ok(preview(&o.order_state));
                    }
                    Ok(SubscriptionItem::Data(_)) => {}
                    Ok(SubscriptionItem::Notice(n)) => {
                        tracing::info!(order_id, code = n.code, "what-if notice: {}", n.message)
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Err(BrokerError::Other(format!(
                "no what-if answer for order {order_id}"
            )))
        })
        .await
    }

    /// Modify a working order placed by this connection: look it up among the open orders,
    /// apply `changes`, and re-send it under its id through the same validation, guardrails
    /// and audit as [`Broker::place_order`] (audit events `modify_*`). An unknown id is a
    /// [`BrokerError::NotFound`] naming it.
    pub async fn modify_order(
        &self,
        order_id: i32,
        changes: &OrderChanges,
        origin: &OrderOrigin,
    ) -> BrokerResult<OrderStatus> {
        let found = async {
            if order_id <= 0 {
                return Err(BrokerError::invalid(
                    "orderId",
                    "must be a positive order id",
                ));
            }
            let (current, raw) = self.find_open_order(order_id).await?;
            let req = modified_request(&current, changes)?;
            Ok((req, raw))
        }
        .await;
        match found {
            Ok((req, raw)) => {
                self.submit(&req, origin, Submit::Modify(order_id), Some(&raw))
                    .await
            }
            Err(e) => {
                self.audit().append(
                    "modify_refused",
                    &origin.to_string(),
                    json!({ "orderId": order_id, "changes": changes, "error": e.to_string() }),
                );
                Err(e)
            }
        }
    }

    /// The open order `order_id` of this connection's client id, with its ibapi order.
    async fn find_open_order(&self, order_id: i32) -> BrokerResult<(OpenOrder, Order)> {
        let (client_id, all) = self.open_orders_raw().await?;
        let mut others = Vec::new();
        for (o, raw) in all {
            if o.order_id != order_id {
                continue;
            }
            if o.client_id == client_id {
                return Ok((o, raw));
            }
            others.push(o.client_id);
        }
        if others.is_empty() {
            Err(BrokerError::NotFound(format!(
                "no open order with id {order_id}"
            )))
        } else {
            Err(BrokerError::NotFound(format!(
                "no open order with id {order_id} placed by this connection (client id \
                 {client_id}); order {order_id} of client id(s) {others:?} can only be modified \
                 by that client"
            )))
        }
    }

    /// Place a bracket: a parent entry (LMT at `entryPrice`, or MKT) held with transmit=false,
    /// a take-profit LMT child and a stop-loss STP child (parent id = the parent's, one OCA
    /// group), the last child transmitting all three. Each leg passes the same validation,
    /// guardrails and audit as [`Broker::place_order`]; nothing is submitted unless all three
    /// legs pass, and when TWS rejects a leg the others are cancelled (audited). Returns the
    /// first status of each leg.
    pub async fn place_bracket(
        &self,
        req: &BracketRequest,
        origin: &OrderOrigin,
    ) -> BrokerResult<BracketStatus> {
        let origin_s = origin.to_string();
        let legs = bracket_legs(req);
        let oca_group = format!(
            "ibkr-mcp-bracket-{}-{}",
            chrono::Utc::now().timestamp_millis(),
            OCA_SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let records: Vec<Value> = LEG_NAMES
            .iter()
            .zip(&legs)
            .map(|(leg, r)| {
                json!({ "request": r, "bracket": { "leg": leg, "ocaGroup": oca_group } })
            })
            .collect();
        for r in &records {
            self.audit().append("place_requested", &origin_s, r.clone());
        }
        let prepared = async {
            validate_bracket(req)?;
            let mut out = Vec::with_capacity(legs.len());
            for (leg, r) in LEG_NAMES.iter().zip(&legs) {
                out.push(self.prepare(r).await.map_err(|e| in_leg(leg, e))?);
            }
            Ok::<_, BrokerError>(out)
        }
        .await;
        let mut prepared = match prepared {
            Ok(p) => p,
            Err(e) => {
                for r in &records {
                    self.audit_outcome(Submit::New, &origin_s, r, &Err(e.clone()));
                }
                return Err(e);
            }
        };
        let oca = oca_group.clone();
        let results = self
            .call("place bracket", |c| async move {
                let ids: Vec<i32> = prepared.iter().map(|_| c.next_order_id()).collect();
                let last = prepared.len() - 1;
                let mut subs = Vec::with_capacity(prepared.len());
                for (i, p) in prepared.iter_mut().enumerate() {
                    if i > 0 {
                        p.order.parent_id = ids[0];
                        p.order.oca_group = oca.clone();
                        p.order.oca_type = OcaType::ReduceWithBlock;
                    }
                    p.order.transmit = i == last;
                    match c.place_order(ids[i], &p.contract, &p.order).await {
                        Ok(sub) => subs.push(sub),
                        Err(e) => {
                            // Legs sent so far were not transmitted: withdraw them.
                            for &id in &ids[..i] {
                                if let Err(ce) = c.cancel_order(id, "").await {
                                    tracing::warn!(
                                        order_id = id,
                                        "cancel of bracket leg failed: {ce}"
                                    );
                                }
                            }
                            return Err(in_leg(LEG_NAMES[i], e.into()));
                        }
                    }
                }
                let waits = subs
                    .into_iter()
                    .zip(&ids)
                    .zip(&prepared)
                    .map(|((sub, &id), p)| first_status(id, sub, p.order.total_quantity));
                Ok(futures::future::join_all(waits).await)
            })
            .await;
        let results: Vec<BrokerResult<OrderStatus>> = match results {
            Ok(r) => r
                .into_iter()
                .zip(LEG_NAMES)
                .map(|(r, leg)| r.map_err(|e| in_leg(leg, e)))
                .collect(),
            Err(e) => records.iter().map(|_| Err(e.clone())).collect(),
        };
        for (r, res) in records.iter().zip(&results) {
            self.audit_outcome(Submit::New, &origin_s, r, res);
        }
        if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
            // A leg was rejected: withdraw the others so no entry is left without its exits.
            // Cancelling the parent takes its children with it.
            for s in results.iter().flatten() {
                if matches!(
                    s.status.as_str(),
                    "Filled" | "Cancelled" | "ApiCancelled" | "Inactive"
                ) {
                    continue;
                }
                match self.cancel_order(s.order_id, origin).await {
                    Ok(_) if s.parent_id == 0 => break,
                    Ok(_) => {}
                    Err(ce) => tracing::warn!(
                        order_id = s.order_id,
                        "withdrawing bracket leg failed: {ce}"
                    ),
                }
            }
            return Err(e.clone());
        }
        let statuses: Vec<OrderStatus> = results.into_iter().flatten().collect();
        let mut it = statuses.into_iter();
        Ok(BracketStatus {
            parent: it.next().unwrap_or_default(),
            take_profit: it.next().unwrap_or_default(),
            stop_loss: it.next().unwrap_or_default(),
            oca_group,
        })
    }

    /// Cancel a working order (guarded by read-only mode, audited).
    pub async fn cancel_order(
        &self,
        order_id: i32,
        origin: &OrderOrigin,
    ) -> BrokerResult<OrderStatus> {
        let origin_s = origin.to_string();
        let audit = self.audit();
        audit.append(
            "cancel_requested",
            &origin_s,
            json!({ "orderId": order_id }),
        );
        let result = self.cancel_inner(order_id).await;
        match &result {
            Ok(s) => audit.append(
                "cancelled",
                &origin_s,
                json!({ "orderId": order_id, "status": s }),
            ),
            Err(e) => audit.append(
                "cancel_failed",
                &origin_s,
                json!({ "orderId": order_id, "error": e.to_string() }),
            ),
        };
        result
    }

    async fn cancel_inner(&self, order_id: i32) -> BrokerResult<OrderStatus> {
        check_cancel(self.guardrails(), order_id)?;
        self.call("cancel order", |c| async move {
            let mut sub = c.cancel_order(order_id, "").await?;
            while let Some(item) = sub.next().await {
                match item {
                    Ok(SubscriptionItem::Data(CancelOrder::OrderStatus(s))) => {
                        let st = order_status(&s);
                        if st.status == "Cancelled"
                            || st.status == "ApiCancelled"
                            || st.status == "Filled"
                            || st.status == "Inactive"
                        {
                            return Ok(st);
                        }
                    }
                    Ok(SubscriptionItem::Notice(n)) if n.code == ORDER_CANCELLED => {
                        return Ok(OrderStatus {
                            order_id,
                            status: "Cancelled".into(),
                            why_held: n.message,
                            ..Default::default()
                        });
                    }
                    Ok(SubscriptionItem::Notice(n)) => {
                        tracing::info!(order_id, code = n.code, "cancel notice: {}", n.message)
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Err(BrokerError::Other(format!(
                "no cancel confirmation for order {order_id}"
            )))
        })
        .await
    }

    /// All open orders of all clients (reqAllOpenOrders), with their latest status.
    pub async fn open_orders(&self) -> BrokerResult<Vec<OpenOrder>> {
        let (_, all) = self.open_orders_raw().await?;
        Ok(all.into_iter().map(|(o, _)| o).collect())
    }

    /// All open orders with their ibapi orders, and this connection's client id.
    async fn open_orders_raw(&self) -> BrokerResult<(i32, Vec<(OpenOrder, Order)>)> {
        self.call("open orders", |c| async move {
            let client_id = c.client_id();
            let mut sub = c.all_open_orders().await?;
            let mut orders: Vec<(OpenOrder, Order)> = Vec::new();
            let mut statuses: HashMap<i32, ibapi::orders::OrderStatus> = HashMap::new();
            while let Some(item) = sub.next().await {
                match item {
                    Ok(SubscriptionItem::Data(Orders::OrderData(d))) => {
                        let o = open_order(&d);
                        orders.retain(|(x, _)| {
                            !(x.order_id == o.order_id
                                && x.client_id == o.client_id
                                && x.perm_id == o.perm_id)
                        });
                        orders.push((o, d.order));
                    }
                    Ok(SubscriptionItem::Data(Orders::OrderStatus(s))) => {
                        statuses.insert(s.order_id, s);
                    }
                    Ok(SubscriptionItem::Notice(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            for (o, _) in &mut orders {
                if let Some(s) = statuses.get(&o.order_id) {
                    o.status = s.status.to_string();
                    o.filled = s.filled;
                    o.remaining = s.remaining;
                }
            }
            Ok((client_id, orders))
        })
        .await
    }

    /// Executions matching the query (reqExecutions), each with its commission report.
    pub async fn executions(&self, q: &ExecutionQuery) -> BrokerResult<Vec<Execution>> {
        let side = match q.side.trim().to_ascii_uppercase().as_str() {
            "" => None,
            "BUY" | "BOT" => Some(ibapi::orders::ExecutionFilterSide::Buy),
            "SELL" | "SLD" => Some(ibapi::orders::ExecutionFilterSide::Sell),
            other => {
                return Err(BrokerError::invalid(
                    "side",
                    format!("{other:?} is not BUY or SELL"),
                ));
            }
        };
        let filter = ExecutionFilter {
            client_id: q.client_id,
            account_code: q.account.trim().to_string(),
            symbol: q.symbol.trim().to_ascii_uppercase(),
            security_type: q.sec_type.trim().to_ascii_uppercase(),
            side,
            ..Default::default()
        };
        self.call("executions", |c| async move {
            let mut sub = c.executions(filter).await?;
            let mut out: Vec<Execution> = Vec::new();
            let mut reports = HashMap::new();
            while let Some(item) = sub.next().await {
                match item {
                    Ok(SubscriptionItem::Data(Executions::ExecutionData(d))) => {
                        out.push(execution(&d))
                    }
                    Ok(SubscriptionItem::Data(Executions::CommissionReport(r))) => {
                        reports.insert(r.execution_id.clone(), r);
                    }
                    Ok(SubscriptionItem::Notice(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            for e in &mut out {
                if let Some(r) = reports.get(&e.exec_id) {
                    e.commission = Some(r.commission);
                    e.commission_currency = Some(r.currency.clone());
                    e.realized_pnl = r.realized_pnl;
                }
            }
            Ok(out)
        })
        .await
    }

    /// The next valid order id (reqIds).
    pub async fn next_valid_id(&self) -> BrokerResult<i32> {
        self.call("next valid id", |c| async move {
            Ok(c.next_valid_order_id().await?)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::ContractSpec;
    use crate::broker::audit::{AuditLog, verify_chain};
    use crate::config::TwsConfig;
    use std::cell::Cell;

    /// Guardrails with small, distinct limits so every number in a refusal is recognisable.
    fn guardrails() -> GuardrailsConfig {
        GuardrailsConfig {
            read_only: false,
            max_order_quantity: 100.0,
            max_order_notional: 10_000.0,
            allowed_sec_types: vec!["STK".into(), "OPT".into(), "FUT".into()],
            allowed_order_types: vec!["MKT".into(), "LMT".into(), "STP".into()],
        }
    }

    fn order(
        sec_type: &str,
        order_type: &str,
        qty: f64,
        lmt: Option<f64>,
        aux: Option<f64>,
    ) -> OrderRequest {
        OrderRequest {
            contract: ContractSpec::new("AAPL", sec_type, "SMART", "USD"),
            action: Side::Buy,
            total_quantity: qty,
            order_type: order_type.into(),
            lmt_price: lmt,
            aux_price: aux,
            tif: "DAY".into(),
            account: String::new(),
            order_ref: "unit".into(),
        }
    }

    /// Run the guardrail policy on a valid order with a market price source answering
    /// `market`; returns the verdict and how often the market price was asked for.
    fn run(
        g: &GuardrailsConfig,
        r: &OrderRequest,
        market: BrokerResult<Option<f64>>,
    ) -> (BrokerResult<()>, usize) {
        let order_type = validate(r).expect("a valid order");
        let asked = Cell::new(0);
        let verdict = futures::executor::block_on(evaluate(g, r, &order_type, || {
            asked.set(asked.get() + 1);
            std::future::ready(market)
        }));
        (verdict, asked.get())
    }

    fn refusal(v: BrokerResult<()>) -> (String, String) {
        match v {
            Err(BrokerError::Guardrail { rule, reason }) => (rule, reason),
            other => panic!("expected a guardrail refusal, got {other:?}"),
        }
    }

    fn refused(rule: &str, reason: &str) -> (String, String) {
        (rule.to_string(), reason.to_string())
    }

    #[test]
    fn read_only_refuses_every_order_without_pricing_it() {
        let mut g = guardrails();
        let r = order("STK", "LMT", 10.0, Some(100.0), None);
        assert_eq!(run(&g, &r, Ok(Some(100.0))).0, Ok(()));
        g.read_only = true;
        let (v, asked) = run(&g, &r, Ok(Some(100.0)));
        assert_eq!(
            v.clone().unwrap_err().to_string(),
            "order refused by guardrail `read_only`: the host is in read-only mode"
        );
        assert_eq!(
            refusal(v),
            refused("read_only", "the host is in read-only mode")
        );
        assert_eq!(asked, 0);
        let mkt = order("STK", "MKT", 1.0, None, None);
        assert_eq!(refusal(run(&g, &mkt, Ok(Some(1.0))).0).0, "read_only");
    }

    #[test]
    fn allowed_sec_types_match_case_insensitively_and_name_the_list() {
        let g = guardrails();
        for sec in ["STK", "stk", " Opt ", "FUT"] {
            let r = order(sec, "LMT", 1.0, Some(10.0), None);
            assert_eq!(run(&g, &r, Ok(Some(10.0))).0, Ok(()), "{sec}");
        }
        let cash = order("cash", "LMT", 1.0, Some(10.0), None);
        assert_eq!(
            refusal(run(&g, &cash, Ok(Some(10.0))).0),
            refused(
                "allowed_sec_types",
                "secType CASH is not allowed (allowed: STK, OPT, FUT)"
            )
        );
        // The configured names are compared case-insensitively too.
        let g = GuardrailsConfig {
            allowed_sec_types: vec!["cash".into()],
            ..guardrails()
        };
        assert_eq!(run(&g, &cash, Ok(Some(10.0))).0, Ok(()));
        let stk = order("STK", "LMT", 1.0, Some(10.0), None);
        assert_eq!(
            refusal(run(&g, &stk, Ok(Some(10.0))).0),
            refused(
                "allowed_sec_types",
                "secType STK is not allowed (allowed: cash)"
            )
        );
    }

    #[test]
    fn allowed_order_types_refuse_the_others_and_name_the_list() {
        let g = guardrails();
        for (ot, lmt, aux) in [
            ("MKT", None, None),
            ("lmt", Some(10.0), None),
            ("STP", None, Some(10.0)),
        ] {
            let r = order("STK", ot, 1.0, lmt, aux);
            assert_eq!(run(&g, &r, Ok(Some(10.0))).0, Ok(()), "{ot}");
        }
        let stp_lmt = order("STK", "stp lmt", 1.0, Some(10.0), Some(10.0));
        let (v, asked) = run(&g, &stp_lmt, Ok(Some(10.0)));
        assert_eq!(
            refusal(v),
            refused(
                "allowed_order_types",
                "orderType STP LMT is not allowed (allowed: MKT, LMT, STP)"
            )
        );
        assert_eq!(asked, 0);
        let trail = order("STK", "TRAIL", 1.0, None, Some(1.0));
        assert_eq!(
            refusal(run(&g, &trail, Ok(Some(10.0))).0).0,
            "allowed_order_types"
        );
    }

    #[test]
    fn max_order_quantity_allows_the_maximum_and_refuses_above_it() {
        let g = guardrails();
        let at = order("STK", "LMT", 100.0, Some(1.0), None);
        assert_eq!(run(&g, &at, Ok(Some(1.0))).0, Ok(()));
        let above = order("STK", "LMT", 101.0, Some(1.0), None);
        assert_eq!(
            refusal(run(&g, &above, Ok(Some(1.0))).0),
            refused("max_order_quantity", "quantity 101 exceeds the maximum 100")
        );
        // A market order over the quantity cap is refused before it is priced.
        let mkt = order("STK", "MKT", 250.0, None, None);
        let (v, asked) = run(&g, &mkt, Ok(Some(1.0)));
        assert_eq!(
            refusal(v),
            refused("max_order_quantity", "quantity 250 exceeds the maximum 100")
        );
        assert_eq!(asked, 0);
    }

    // The market price handed to the notional checks below equals the order's own price, so
    // these cases hold whichever of the two prices the notional is computed from.
    #[test]
    fn max_order_notional_of_limit_and_stop_orders() {
        let g = guardrails();
        let at = order("STK", "LMT", 10.0, Some(1000.0), None);
        assert_eq!(run(&g, &at, Ok(Some(1000.0))).0, Ok(()));
        let above = order("STK", "LMT", 10.0, Some(1000.5), None);
        assert_eq!(
            refusal(run(&g, &above, Ok(Some(1000.5))).0),
            refused(
                "max_order_notional",
                "notional 10005.00 (10 x 1000.5000) exceeds the maximum 10000.00"
            )
        );
        let stop_at = order("STK", "STP", 10.0, None, Some(1000.0));
        assert_eq!(run(&g, &stop_at, Ok(Some(1000.0))).0, Ok(()));
        let stop_above = order("STK", "STP", 20.0, None, Some(600.0));
        assert_eq!(
            refusal(run(&g, &stop_above, Ok(Some(600.0))).0),
            refused(
                "max_order_notional",
                "notional 12000.00 (20 x 600.0000) exceeds the maximum 10000.00"
            )
        );
    }

    #[test]
    fn max_order_notional_of_market_orders_uses_the_market_price() {
        let g = guardrails();
        let r = order("STK", "MKT", 10.0, None, None);
        let (v, asked) = run(&g, &r, Ok(Some(1000.0)));
        assert_eq!((v, asked), (Ok(()), 1));
        let (v, asked) = run(&g, &r, Ok(Some(1000.5)));
        assert_eq!(
            refusal(v),
            refused(
                "max_order_notional",
                "notional 10005.00 (10 x 1000.5000) exceeds the maximum 10000.00"
            )
        );
        assert_eq!(asked, 1);
    }

    #[test]
    fn a_market_order_that_cannot_be_priced_is_refused() {
        let g = guardrails();
        let r = order("STK", "MKT", 1.0, None, None);
        assert_eq!(
            refusal(run(&g, &r, Ok(None)).0),
            refused(
                "max_order_notional",
                "no price available for AAPL to check the notional limit"
            )
        );
        let timeout = BrokerError::Timeout {
            operation: "quote".into(),
            seconds: 5.0,
        };
        assert_eq!(
            refusal(run(&g, &r, Err(timeout)).0),
            refused(
                "max_order_notional",
                "cannot price AAPL to check the notional limit: quote timed out after 5.0s"
            )
        );
    }

    #[test]
    fn option_notional_uses_the_contract_multiplier() {
        let g = guardrails();
        // No multiplier given: an option is 100 shares.
        let at = order("OPT", "LMT", 2.0, Some(50.0), None);
        assert_eq!(run(&g, &at, Ok(Some(50.0))).0, Ok(()));
        let above = order("OPT", "LMT", 3.0, Some(50.0), None);
        assert_eq!(
            refusal(run(&g, &above, Ok(Some(50.0))).0),
            refused(
                "max_order_notional",
                "notional 15000.00 (3 x 50.0000) exceeds the maximum 10000.00"
            )
        );
        // An explicit multiplier wins.
        let mut small = above.clone();
        small.contract.multiplier = "10".into();
        assert_eq!(run(&g, &small, Ok(Some(50.0))).0, Ok(()));
        let mut fut = order("FUT", "LMT", 1.0, Some(250.0), None);
        fut.contract.multiplier = " 50 ".into();
        assert_eq!(
            refusal(run(&g, &fut, Ok(Some(250.0))).0),
            refused(
                "max_order_notional",
                "notional 12500.00 (1 x 250.0000) exceeds the maximum 10000.00"
            )
        );
    }

    #[test]
    fn multipliers() {
        let m = |sec: &str, mult: &str| {
            let mut r = order(sec, "MKT", 1.0, None, None);
            r.contract.multiplier = mult.into();
            multiplier(&r)
        };
        assert_eq!(m("OPT", ""), 100.0);
        assert_eq!(m("fop", ""), 100.0);
        assert_eq!(m("OPT", "junk"), 100.0);
        assert_eq!(m("OPT", "0"), 100.0);
        assert_eq!(m("FUT", "50"), 50.0);
        assert_eq!(m("OPT", " 10 "), 10.0);
        assert_eq!(m("STK", ""), 1.0);
    }

    #[test]
    fn rules_are_checked_in_order_and_the_first_refusal_answers() {
        let mut g = guardrails();
        g.read_only = true;
        // Violates every rule.
        let r = order("CASH", "STP LMT", 1e6, Some(1e6), Some(1e6));
        let rule = |g: &GuardrailsConfig| refusal(run(g, &r, Ok(Some(1e6))).0).0;
        assert_eq!(rule(&g), "read_only");
        g.read_only = false;
        assert_eq!(rule(&g), "allowed_sec_types");
        g.allowed_sec_types.push("CASH".into());
        assert_eq!(rule(&g), "allowed_order_types");
        g.allowed_order_types.push("STP LMT".into());
        assert_eq!(rule(&g), "max_order_quantity");
        g.max_order_quantity = 1e7;
        assert_eq!(rule(&g), "max_order_notional");
        g.max_order_notional = 1e13;
        assert_eq!(run(&g, &r, Ok(Some(1e6))).0, Ok(()));
    }

    #[test]
    fn cancel_needs_a_positive_id_and_is_refused_in_read_only_mode() {
        let mut g = guardrails();
        assert_eq!(check_cancel(&g, 7), Ok(()));
        for id in [0, -3] {
            assert_eq!(
                check_cancel(&g, id),
                Err(BrokerError::invalid(
                    "orderId",
                    "must be a positive order id"
                ))
            );
        }
        g.read_only = true;
        assert_eq!(
            check_cancel(&g, 7),
            Err(BrokerError::Guardrail {
                rule: "read_only".into(),
                reason: "the host is in read-only mode".into(),
            })
        );
    }

    fn invalid(r: BrokerResult<String>) -> (String, String) {
        match r {
            Err(BrokerError::InvalidArgument { arg, reason }) => (arg, reason),
            other => panic!("expected an invalid argument, got {other:?}"),
        }
    }

    #[test]
    fn validation_refuses_bad_quantities_types_prices_and_tifs() {
        let ok = |ot: &str, lmt, aux| validate(&order("STK", ot, 1.0, lmt, aux));
        assert_eq!(ok("mkt", None, None).unwrap(), "MKT");
        assert_eq!(ok(" stp lmt ", Some(1.0), Some(1.0)).unwrap(), "STP LMT");
        for q in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let (arg, reason) = invalid(validate(&order("STK", "MKT", q, None, None)));
            assert_eq!(arg, "totalQuantity");
            assert_eq!(reason, format!("{q} must be a positive number"));
        }
        let (arg, reason) = invalid(ok("FOO", None, None));
        assert_eq!(arg, "orderType");
        assert_eq!(
            reason,
            format!("\"FOO\" is not one of {}", KNOWN_ORDER_TYPES.join(", "))
        );
        let required = "is required for this orderType".to_string();
        assert_eq!(
            invalid(ok("LMT", None, None)),
            ("lmtPrice".into(), required.clone())
        );
        assert_eq!(
            invalid(ok("LMT", Some(0.0), None)),
            ("lmtPrice".into(), "0 must be a positive price".into())
        );
        assert_eq!(
            invalid(ok("STP", None, None)),
            ("auxPrice".into(), required.clone())
        );
        assert_eq!(
            invalid(ok("STP", None, Some(-2.0))),
            ("auxPrice".into(), "-2 must be a positive price".into())
        );
        assert_eq!(
            invalid(ok("STP LMT", Some(1.0), None)),
            ("auxPrice".into(), required.clone())
        );
        assert_eq!(
            invalid(ok("STP LMT", None, Some(1.0))),
            ("lmtPrice".into(), required)
        );
        let mut r = order("STK", "MKT", 1.0, None, None);
        for tif in ["", "gtc", " IOC "] {
            r.tif = tif.into();
            assert_eq!(validate(&r).unwrap(), "MKT", "{tif:?}");
        }
        r.tif = "FOREVER".into();
        assert_eq!(
            invalid(validate(&r)),
            (
                "tif".into(),
                format!("\"FOREVER\" is not one of {}", KNOWN_TIFS.join(", "))
            )
        );
    }

    #[test]
    fn modify_keeps_the_order_and_refuses_a_limit_on_a_stop_or_a_stop_on_a_limit() {
        let current = OpenOrder {
            order_id: 9,
            contract: crate::broker::ContractRef {
                con_id: 265598,
                symbol: "AAPL".into(),
                sec_type: "STK".into(),
                exchange: "SMART".into(),
                currency: "USD".into(),
                ..Default::default()
            },
            action: "BUY".into(),
            total_quantity: 5.0,
            order_type: "stp lmt".into(),
            lmt_price: Some(101.0),
            aux_price: Some(100.0),
            tif: "GTC".into(),
            account: "DU123".into(),
            order_ref: "ref".into(),
            ..Default::default()
        };
        let r = modified_request(
            &current,
            &OrderChanges {
                total_quantity: Some(7.0),
                lmt_price: Some(102.0),
                aux_price: Some(101.0),
            },
        )
        .unwrap();
        assert_eq!(r.order_type, "STP LMT");
        assert_eq!(
            (r.total_quantity, r.lmt_price, r.aux_price),
            (7.0, Some(102.0), Some(101.0))
        );
        assert_eq!(
            (r.account.as_str(), r.order_ref.as_str(), r.tif.as_str()),
            ("DU123", "ref", "GTC")
        );
        assert_eq!(r.action, Side::Buy);
        let quantity_only = modified_request(
            &current,
            &OrderChanges {
                total_quantity: Some(6.0),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            (quantity_only.lmt_price, quantity_only.aux_price),
            (Some(101.0), Some(100.0))
        );
        let lmt = OpenOrder {
            order_type: "LMT".into(),
            aux_price: None,
            ..current.clone()
        };
        let e = modified_request(
            &lmt,
            &OrderChanges {
                aux_price: Some(1.0),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            e,
            BrokerError::invalid(
                "auxPrice",
                "order 9 is a LMT order, which has no aux (stop) price"
            )
        );
        let mkt = OpenOrder {
            order_type: "MKT".into(),
            lmt_price: None,
            aux_price: None,
            ..current
        };
        let e = modified_request(
            &mkt,
            &OrderChanges {
                lmt_price: Some(1.0),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            e,
            BrokerError::invalid(
                "lmtPrice",
                "order 9 is a MKT order, which has no limit price"
            )
        );
    }

    #[test]
    fn errors_name_the_bracket_leg() {
        assert_eq!(
            in_leg(
                "stopLoss",
                BrokerError::Guardrail {
                    rule: "allowed_order_types".into(),
                    reason: "no".into(),
                }
            ),
            BrokerError::Guardrail {
                rule: "allowed_order_types".into(),
                reason: "bracket stopLoss leg: no".into(),
            }
        );
        assert_eq!(
            in_leg("parent", BrokerError::invalid("lmtPrice", "bad")),
            BrokerError::invalid("lmtPrice", "bad (bracket parent leg)")
        );
        assert_eq!(
            in_leg(
                "takeProfit",
                BrokerError::Tws {
                    code: 110,
                    message: "tick".into(),
                }
            ),
            BrokerError::Tws {
                code: 110,
                message: "bracket takeProfit leg: tick".into(),
            }
        );
        assert_eq!(
            in_leg("parent", BrokerError::Cancelled),
            BrokerError::Cancelled
        );
    }

    /// A broker that never connects, with an in-memory audit log.
    fn offline(g: GuardrailsConfig) -> Broker {
        let cfg = TwsConfig {
            connect_on_start: false,
            ..TwsConfig::default()
        };
        Broker::new(cfg, g, AuditLog::in_memory())
    }

    fn tool() -> OrderOrigin {
        OrderOrigin::Tool {
            tool: "unit".into(),
        }
    }

    fn chain_of(b: &Broker) -> Vec<crate::broker::audit::AuditRecord> {
        let recs = b.audit().records().unwrap();
        let text: String = recs
            .iter()
            .map(|r| serde_json::to_string(r).unwrap() + "\n")
            .collect();
        assert_eq!(verify_chain(&text), Ok(recs.len()), "{text}");
        recs
    }

    #[tokio::test]
    async fn a_refused_order_is_audited_as_requested_then_refused() {
        let b = offline(guardrails());
        let r = order("STK", "LMT", 1.0, None, None);
        let e = b.place_order(&r, &tool()).await.unwrap_err();
        assert_eq!(
            e,
            BrokerError::invalid("lmtPrice", "is required for this orderType")
        );
        let recs = chain_of(&b);
        let events: Vec<_> = recs.iter().map(|r| r.event.as_str()).collect();
        assert_eq!(events, ["place_requested", "place_refused"]);
        assert!(recs.iter().all(|x| x.origin == "tool:unit"));
        assert_eq!(recs[0].details, json!({ "request": r }));
        assert_eq!(
            recs[1].details,
            json!({ "request": r, "error": e.to_string() })
        );
    }

    #[tokio::test]
    async fn an_order_that_cannot_be_sent_is_audited_as_failed() {
        let b = offline(guardrails());
        let r = order("STK", "LMT", 1.0, Some(10.0), None);
        let e = b.place_order(&r, &tool()).await.unwrap_err();
        assert!(matches!(e, BrokerError::NotConnected { .. }), "{e:?}");
        let recs = chain_of(&b);
        let events: Vec<_> = recs.iter().map(|r| r.event.as_str()).collect();
        assert_eq!(events, ["place_requested", "place_failed"]);
        assert_eq!(recs[1].details["error"], e.to_string());
        // A preview is not an order action: nothing more is audited.
        let p = b.preview_order(&r, &tool()).await.unwrap_err();
        assert!(matches!(p, BrokerError::NotConnected { .. }), "{p:?}");
        assert_eq!(b.audit().records().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn cancel_and_modify_refusals_are_audited() {
        let b = offline(GuardrailsConfig {
            read_only: true,
            ..guardrails()
        });
        let e = b.cancel_order(0, &tool()).await.unwrap_err();
        assert_eq!(
            e,
            BrokerError::invalid("orderId", "must be a positive order id")
        );
        let ro = b.cancel_order(12, &tool()).await.unwrap_err();
        assert_eq!(
            ro.to_string(),
            "order refused by guardrail `read_only`: the host is in read-only mode"
        );
        let changes = OrderChanges {
            lmt_price: Some(2.0),
            ..Default::default()
        };
        let m = b.modify_order(-1, &changes, &tool()).await.unwrap_err();
        assert_eq!(
            m,
            BrokerError::invalid("orderId", "must be a positive order id")
        );
        let recs = chain_of(&b);
        let got: Vec<_> = recs
            .iter()
            .map(|r| (r.event.as_str(), r.details.clone()))
            .collect();
        assert_eq!(
            got,
            [
                ("cancel_requested", json!({ "orderId": 0 })),
                (
                    "cancel_failed",
                    json!({ "orderId": 0, "error": e.to_string() })
                ),
                ("cancel_requested", json!({ "orderId": 12 })),
                (
                    "cancel_failed",
                    json!({ "orderId": 12, "error": ro.to_string() })
                ),
                (
                    "modify_refused",
                    json!({ "orderId": -1, "changes": changes, "error": m.to_string() })
                ),
            ]
        );
    }

    #[tokio::test]
    async fn a_refused_bracket_audits_each_leg_requested_and_refused() {
        let b = offline(guardrails());
        let req = bracket(Side::Buy, Some(100.0), 110.0, 101.0);
        let e = b.place_bracket(&req, &tool()).await.unwrap_err();
        assert_eq!(
            e,
            BrokerError::invalid(
                "stopLoss",
                "101 must be below the entry price 100 for a BUY bracket (stop < entry < \
                 take-profit)"
            )
        );
        let recs = chain_of(&b);
        let events: Vec<_> = recs.iter().map(|r| r.event.as_str()).collect();
        assert_eq!(
            events,
            [
                "place_requested",
                "place_requested",
                "place_requested",
                "place_refused",
                "place_refused",
                "place_refused"
            ]
        );
        let oca = recs[0].details["bracket"]["ocaGroup"].as_str().unwrap();
        assert!(oca.starts_with("ibkr-mcp-bracket-"), "{oca}");
        let legs = bracket_legs(&req);
        for (i, leg) in LEG_NAMES.iter().enumerate() {
            let bracket = json!({ "leg": leg, "ocaGroup": oca });
            assert_eq!(
                recs[i].details,
                json!({ "request": legs[i], "bracket": bracket })
            );
            assert_eq!(
                recs[3 + i].details,
                json!({ "request": legs[i], "bracket": bracket, "error": e.to_string() })
            );
        }
    }

    fn bracket(action: Side, entry: Option<f64>, tp: f64, sl: f64) -> BracketRequest {
        BracketRequest {
            contract: ContractSpec::stock("AAPL"),
            action,
            total_quantity: 10.0,
            entry_price: entry,
            take_profit: tp,
            stop_loss: sl,
            tif: "GTC".into(),
            account: String::new(),
            order_ref: "t".into(),
        }
    }

    fn arg(r: BrokerResult<()>) -> String {
        match r {
            Err(BrokerError::InvalidArgument { arg, .. }) => arg,
            other => panic!("expected an invalid argument, got {other:?}"),
        }
    }

    #[test]
    fn bracket_prices_are_ordered_by_side() {
        assert!(validate_bracket(&bracket(Side::Buy, Some(100.0), 110.0, 95.0)).is_ok());
        assert!(validate_bracket(&bracket(Side::Sell, Some(100.0), 90.0, 105.0)).is_ok());
        assert!(validate_bracket(&bracket(Side::Buy, None, 110.0, 95.0)).is_ok());
        let b = |a, e, tp, sl| arg(validate_bracket(&bracket(a, e, tp, sl)));
        assert_eq!(b(Side::Buy, Some(100.0), 110.0, 100.0), "stopLoss");
        assert_eq!(b(Side::Buy, Some(100.0), 99.0, 95.0), "takeProfit");
        assert_eq!(b(Side::Sell, Some(100.0), 110.0, 105.0), "takeProfit");
        assert_eq!(b(Side::Sell, Some(100.0), 90.0, 95.0), "stopLoss");
        assert_eq!(b(Side::Buy, None, 95.0, 96.0), "stopLoss");
        assert_eq!(b(Side::Buy, Some(-1.0), 110.0, 95.0), "entryPrice");
        assert_eq!(b(Side::Buy, Some(100.0), f64::NAN, 95.0), "takeProfit");
    }

    #[test]
    fn modify_applies_changes_and_refuses_prices_the_order_lacks() {
        let current = OpenOrder {
            order_id: 7,
            contract: crate::broker::ContractRef {
                con_id: 265598,
                symbol: "AAPL".into(),
                sec_type: "STK".into(),
                exchange: "SMART".into(),
                currency: "USD".into(),
                ..Default::default()
            },
            action: "SELL".into(),
            total_quantity: 5.0,
            order_type: "STP".into(),
            aux_price: Some(90.0),
            tif: "GTC".into(),
            ..Default::default()
        };
        let r = modified_request(
            &current,
            &OrderChanges {
                aux_price: Some(92.5),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!((r.action, r.total_quantity), (Side::Sell, 5.0));
        assert_eq!((r.aux_price, r.lmt_price), (Some(92.5), None));
        assert_eq!((r.contract.con_id, r.tif.as_str()), (265598, "GTC"));
        assert!(validate(&r).is_ok());
        let lmt = OrderChanges {
            lmt_price: Some(1.0),
            ..Default::default()
        };
        assert_eq!(
            arg(modified_request(&current, &lmt).map(|_| ())),
            "lmtPrice"
        );
        let none = OrderChanges::default();
        assert_eq!(
            arg(modified_request(&current, &none).map(|_| ())),
            "changes"
        );
    }

    #[test]
    fn bracket_legs_are_entry_limit_exit_and_stop() {
        let [p, tp, sl] = bracket_legs(&bracket(Side::Buy, Some(100.0), 110.0, 95.0));
        assert_eq!((p.action, p.order_type.as_str()), (Side::Buy, "LMT"));
        assert_eq!(p.lmt_price, Some(100.0));
        assert_eq!((tp.action, tp.order_type.as_str()), (Side::Sell, "LMT"));
        assert_eq!(tp.lmt_price, Some(110.0));
        assert_eq!((sl.action, sl.order_type.as_str()), (Side::Sell, "STP"));
        assert_eq!(sl.aux_price, Some(95.0));
        assert!(
            [&p, &tp, &sl]
                .iter()
                .all(|l| l.total_quantity == 10.0 && l.tif == "GTC")
        );
        let [p, ..] = bracket_legs(&bracket(Side::Sell, None, 90.0, 105.0));
        assert_eq!(
            (p.action, p.order_type.as_str(), p.lmt_price),
            (Side::Sell, "MKT", None)
        );
        for l in bracket_legs(&bracket(Side::Sell, None, 90.0, 105.0)) {
            assert!(validate(&l).is_ok(), "{l:?}");
        }
    }
}
