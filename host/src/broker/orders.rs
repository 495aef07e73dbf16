//! The single order path. Every order — from an MCP tool or a WASM plugin — goes through
//! [`Broker::place_order`] / [`Broker::cancel_order`]: validation, guardrails from the
//! configuration, then the hash-chained audit log.

use std::collections::HashMap;

use futures::StreamExt;
use ibapi::orders::{
    Action, CancelOrder, ExecutionFilter, Executions, Order, Orders, PlaceOrder, TimeInForce,
};
use ibapi::subscriptions::SubscriptionItem;
use serde_json::json;

use super::convert::{execution, open_order, order_status, to_contract};
use super::{
    Broker, BrokerError, BrokerResult, Execution, ExecutionQuery, OpenOrder, OrderOrigin,
    OrderRequest, OrderStatus, Side,
};

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

impl Broker {
    /// Apply the configured guardrails. Market orders are valued at a quote snapshot's
    /// reference price (last, else mid, else close).
    async fn check_guardrails(&self, req: &OrderRequest, order_type: &str) -> BrokerResult<()> {
        let g = self.guardrails();
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
            _ => match self.quote(&req.contract).await {
                Ok(q) => match q.reference_price() {
                    Some(p) => p,
                    None => {
                        return refuse(
                            "max_order_notional",
                            format!(
                                "no price available for {} to check the notional limit",
                                req.contract.symbol
                            ),
                        );
                    }
                },
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

    /// Place an order: validate, apply guardrails, audit, submit, and return the first status.
    pub async fn place_order(
        &self,
        req: &OrderRequest,
        origin: &OrderOrigin,
    ) -> BrokerResult<OrderStatus> {
        let origin_s = origin.to_string();
        let audit = self.audit();
        audit.append("place_requested", &origin_s, json!({ "request": req }));
        let result = self.place_order_inner(req).await;
        match &result {
            Ok(status) => {
                audit.append(
                    "placed",
                    &origin_s,
                    json!({ "request": req, "status": status }),
                );
            }
            Err(e @ (BrokerError::Guardrail { .. } | BrokerError::InvalidArgument { .. })) => {
                audit.append(
                    "place_refused",
                    &origin_s,
                    json!({ "request": req, "error": e.to_string() }),
                );
            }
            Err(e) => {
                audit.append(
                    "place_failed",
                    &origin_s,
                    json!({ "request": req, "error": e.to_string() }),
                );
            }
        }
        result
    }

    async fn place_order_inner(&self, req: &OrderRequest) -> BrokerResult<OrderStatus> {
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
            limit_price: req.lmt_price.filter(|_| {
                order_type.contains("LMT") || order_type == "LOC" || order_type == "LIT"
            }),
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
        self.call("place order", |c| async move {
            let order_id = c.next_order_id();
            let mut sub = c.place_order(order_id, &contract, &order).await?;
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
                    remaining: order.total_quantity,
                    ..Default::default()
                }),
                None => Err(BrokerError::Other(format!(
                    "no status received for order {order_id}"
                ))),
            }
        })
        .await
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
        if order_id <= 0 {
            return Err(BrokerError::invalid(
                "orderId",
                "must be a positive order id",
            ));
        }
        if self.guardrails().read_only {
            return Err(BrokerError::Guardrail {
                rule: "read_only".into(),
                reason: "the host is in read-only mode".into(),
            });
        }
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
        self.call("open orders", |c| async move {
            let mut sub = c.all_open_orders().await?;
            let mut orders: Vec<OpenOrder> = Vec::new();
            let mut statuses: HashMap<i32, ibapi::orders::OrderStatus> = HashMap::new();
            while let Some(item) = sub.next().await {
                match item {
                    Ok(SubscriptionItem::Data(Orders::OrderData(d))) => {
                        let o = open_order(&d);
                        orders.retain(|x| {
                            !(x.order_id == o.order_id
                                && x.client_id == o.client_id
                                && x.perm_id == o.perm_id)
                        });
                        orders.push(o);
                    }
                    Ok(SubscriptionItem::Data(Orders::OrderStatus(s))) => {
                        statuses.insert(s.order_id, s);
                    }
                    Ok(SubscriptionItem::Notice(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            for o in &mut orders {
                if let Some(s) = statuses.get(&o.order_id) {
                    o.status = s.status.to_string();
                    o.filled = s.filled;
                    o.remaining = s.remaining;
                }
            }
            Ok(orders)
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
