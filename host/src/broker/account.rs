//! Account, portfolio and PnL.

use futures::StreamExt;
use ibapi::accounts::types::{AccountGroup, AccountId, ContractId, ModelCode};
use ibapi::accounts::{AccountSummaryResult, AccountSummaryTags, PositionUpdate};
use ibapi::subscriptions::SubscriptionItem;
use ibapi::subscriptions::r#async::Subscription;

use super::convert::contract_ref;
use super::{
    AccountUpdate, AccountValue, Broker, BrokerError, BrokerResult, Pnl, PnlSingle, PortfolioItem,
    Position,
};

fn model(code: &str) -> Option<ModelCode> {
    let c = code.trim();
    (!c.is_empty()).then(|| ModelCode(c.to_string()))
}

impl Broker {
    /// Account summary values of all accounts (reqAccountSummary, group "All", all tags).
    pub async fn account_summary(&self) -> BrokerResult<Vec<AccountValue>> {
        self.call("account summary", |c| async move {
            let group = AccountGroup("All".to_string());
            let mut sub = c.account_summary(&group, AccountSummaryTags::ALL).await?;
            let mut out = Vec::new();
            while let Some(item) = sub.next().await {
                match item {
                    Ok(SubscriptionItem::Data(AccountSummaryResult::Summary(s))) => {
                        out.push(AccountValue {
                            account: s.account,
                            tag: s.tag,
                            value: s.value,
                            currency: s.currency,
                        })
                    }
                    Ok(SubscriptionItem::Data(AccountSummaryResult::End)) => break,
                    Ok(SubscriptionItem::Notice(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(out)
        })
        .await
    }

    /// Current positions of all accounts (reqPositions). Concurrent calls are coalesced: each
    /// caller gets the answer of a reqPositions sent after it called, shared with the callers
    /// that queued with it (see [`super::coalesce`]).
    pub async fn positions(&self) -> BrokerResult<Vec<Position>> {
        let broker = self.clone();
        self.inner
            .positions_flight
            .run((), move || {
                let broker = broker.clone();
                async move { broker.request_positions().await }
            })
            .await
    }

    /// One reqPositions round trip.
    async fn request_positions(&self) -> BrokerResult<Vec<Position>> {
        self.call("positions", |c| async move {
            let mut sub = c.positions().await?;
            let mut out = Vec::new();
            while let Some(item) = sub.next().await {
                match item {
                    Ok(SubscriptionItem::Data(PositionUpdate::Position(p))) => out.push(Position {
                        account: p.account,
                        contract: contract_ref(&p.contract),
                        position: p.position,
                        avg_cost: p.average_cost,
                    }),
                    Ok(SubscriptionItem::Data(PositionUpdate::PositionEnd)) => break,
                    Ok(SubscriptionItem::Notice(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(out)
        })
        .await
    }

    /// Account (or model) PnL: the first PnL update (reqPnL).
    /// `account` empty = the default account.
    pub async fn pnl(&self, account: &str, model_code: &str) -> BrokerResult<Pnl> {
        let account = self.account_or_default(account)?;
        let model_code = model_code.trim().to_string();
        self.call("pnl", |c| async move {
            let id = AccountId(account.clone());
            let m = model(&model_code);
            let mut sub = c.pnl(&id, m.as_ref()).await?;
            loop {
                match sub.next().await {
                    Some(Ok(SubscriptionItem::Data(p))) => {
                        return Ok(Pnl {
                            account,
                            model_code,
                            daily_pnl: p.daily_pnl,
                            unrealized_pnl: p.unrealized_pnl,
                            realized_pnl: p.realized_pnl,
                        });
                    }
                    Some(Ok(SubscriptionItem::Notice(_))) => {}
                    Some(Err(e)) => return Err(e.into()),
                    None => return Err(BrokerError::Other("PnL stream ended".into())),
                }
            }
        })
        .await
    }

    /// PnL of one position (reqPnLSingle).
    pub async fn pnl_single(
        &self,
        account: &str,
        model_code: &str,
        con_id: i32,
    ) -> BrokerResult<PnlSingle> {
        if con_id <= 0 {
            return Err(BrokerError::invalid(
                "conId",
                "must be a positive contract id",
            ));
        }
        let account = self.account_or_default(account)?;
        let model_code = model_code.trim().to_string();
        self.call("pnl single", |c| async move {
            let id = AccountId(account.clone());
            let m = model(&model_code);
            let mut sub = c.pnl_single(&id, ContractId(con_id), m.as_ref()).await?;
            loop {
                match sub.next().await {
                    Some(Ok(SubscriptionItem::Data(p))) => {
                        return Ok(PnlSingle {
                            account,
                            model_code,
                            con_id,
                            position: p.position,
                            daily_pnl: p.daily_pnl,
                            unrealized_pnl: p.unrealized_pnl,
                            realized_pnl: p.realized_pnl,
                            value: p.value,
                        });
                    }
                    Some(Ok(SubscriptionItem::Notice(_))) => {}
                    Some(Err(e)) => return Err(e.into()),
                    None => return Err(BrokerError::Other("PnL stream ended".into())),
                }
            }
        })
        .await
    }

    /// Stream account values and portfolio updates of one account (reqAccountUpdates).
    pub async fn subscribe_account_updates(
        &self,
        account: &str,
    ) -> BrokerResult<AccountUpdateStream> {
        let account = self.account_or_default(account)?;
        let acct = account.clone();
        let sub = self
            .call("account updates subscription", |c| async move {
                Ok(c.account_updates(&AccountId(acct)).await?)
            })
            .await?;
        Ok(AccountUpdateStream { account, sub })
    }

    /// `account` if given (must be a managed account), else the default account.
    pub(crate) fn account_or_default(&self, account: &str) -> BrokerResult<String> {
        let a = account.trim();
        let accounts = self.accounts()?;
        if a.is_empty() {
            return accounts
                .into_iter()
                .next()
                .ok_or_else(|| BrokerError::NotFound("TWS reported no managed account".into()));
        }
        if !accounts.is_empty() && !accounts.iter().any(|x| x == a) {
            return Err(BrokerError::invalid(
                "account",
                format!(
                    "{a:?} is not a managed account (managed: {})",
                    accounts.join(", ")
                ),
            ));
        }
        Ok(a.to_string())
    }
}

/// A live account updates subscription; dropping it unsubscribes.
pub struct AccountUpdateStream {
    account: String,
    sub: Subscription<ibapi::accounts::AccountUpdate>,
}

impl AccountUpdateStream {
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The next update, `None` when the stream ended.
    pub async fn next(&mut self) -> Option<BrokerResult<AccountUpdate>> {
        use ibapi::accounts::AccountUpdate as U;
        loop {
            let item = self.sub.next().await?;
            let ev = match item {
                Ok(SubscriptionItem::Data(U::AccountValue(v))) => {
                    AccountUpdate::Value(AccountValue {
                        account: v.account.unwrap_or_else(|| self.account.clone()),
                        tag: v.key,
                        value: v.value,
                        currency: v.currency,
                    })
                }
                Ok(SubscriptionItem::Data(U::PortfolioValue(p))) => {
                    AccountUpdate::Portfolio(PortfolioItem {
                        account: p.account.unwrap_or_else(|| self.account.clone()),
                        contract: contract_ref(&p.contract),
                        position: p.position,
                        market_price: p.market_price,
                        market_value: p.market_value,
                        average_cost: p.average_cost,
                        unrealized_pnl: p.unrealized_pnl,
                        realized_pnl: p.realized_pnl,
                    })
                }
                Ok(SubscriptionItem::Data(U::UpdateTime(t))) => {
                    AccountUpdate::Time { time: t.timestamp }
                }
                Ok(SubscriptionItem::Data(U::End)) => AccountUpdate::DownloadEnd,
                Ok(SubscriptionItem::Notice(_)) => continue,
                Err(e) => return Some(Err(e.into())),
            };
            return Some(Ok(ev));
        }
    }
}
