//! Constructors and conveniences on the generated types.

use crate::{
    Access, Action, ArgumentKind, BarSize, BarsRequest, BracketRequest, ComboLeg, Contract,
    Duration, Error, Order, OrderType, Prompt, PromptArgument, PromptMessage, Role, SecType,
    TimeInForce, Value, WhatToShow, Workflow,
};

impl Contract {
    fn base(symbol: &str, sec_type: SecType, exchange: &str, currency: &str) -> Self {
        Contract {
            con_id: 0,
            symbol: symbol.to_string(),
            sec_type,
            exchange: exchange.to_string(),
            primary_exchange: None,
            currency: currency.to_string(),
            last_trade_date: None,
            strike: None,
            right: None,
            multiplier: None,
            local_symbol: None,
            trading_class: None,
            combo_legs: Vec::new(),
        }
    }

    /// A US stock or ETF routed SMART in USD.
    pub fn stock(symbol: &str) -> Self {
        Self::base(symbol, SecType::Stock, "SMART", "USD")
    }

    /// An option on `symbol` (expiry YYYYMMDD), SMART, USD, multiplier 100.
    pub fn option(symbol: &str, expiry: &str, strike: f64, right: crate::OptionRight) -> Self {
        let mut c = Self::base(symbol, SecType::Option, "SMART", "USD");
        c.last_trade_date = Some(expiry.to_string());
        c.strike = Some(strike);
        c.right = Some(right);
        c.multiplier = Some("100".to_string());
        c
    }

    /// A forex pair such as `EUR.USD` (IDEALPRO).
    pub fn forex(pair: &str) -> Self {
        let (base, quote) = pair.split_once('.').unwrap_or((pair, "USD"));
        Self::base(base, SecType::Forex, "IDEALPRO", quote)
    }

    /// An index such as SPX on CBOE.
    pub fn index(symbol: &str, exchange: &str) -> Self {
        Self::base(symbol, SecType::Index, exchange, "USD")
    }

    /// A combo (BAG) contract from resolved legs.
    pub fn combo(symbol: &str, legs: Vec<ComboLeg>) -> Self {
        let mut c = Self::base(symbol, SecType::Combo, "SMART", "USD");
        c.combo_legs = legs;
        c
    }

    /// Same contract with a different currency.
    pub fn with_currency(mut self, currency: &str) -> Self {
        self.currency = currency.to_string();
        self
    }

    /// Same contract with a different exchange.
    pub fn with_exchange(mut self, exchange: &str) -> Self {
        self.exchange = exchange.to_string();
        self
    }
}

impl Order {
    fn base(action: Action, quantity: f64, order_type: OrderType) -> Self {
        Order {
            action,
            quantity,
            order_type,
            limit_price: None,
            stop_price: None,
            trailing_percent: None,
            tif: TimeInForce::Day,
            outside_rth: false,
            account: None,
            order_ref: None,
        }
    }

    /// Market order.
    pub fn market(action: Action, quantity: f64) -> Self {
        Self::base(action, quantity, OrderType::Market)
    }

    /// Limit order.
    pub fn limit(action: Action, quantity: f64, price: f64) -> Self {
        let mut o = Self::base(action, quantity, OrderType::Limit);
        o.limit_price = Some(price);
        o
    }

    /// Stop order.
    pub fn stop(action: Action, quantity: f64, stop: f64) -> Self {
        let mut o = Self::base(action, quantity, OrderType::Stop);
        o.stop_price = Some(stop);
        o
    }

    /// Time in force.
    pub fn with_tif(mut self, tif: TimeInForce) -> Self {
        self.tif = tif;
        self
    }

    /// Order reference (shown in TWS and the audit log).
    pub fn with_ref(mut self, order_ref: &str) -> Self {
        self.order_ref = Some(order_ref.to_string());
        self
    }

    /// Account to trade in.
    pub fn with_account(mut self, account: &str) -> Self {
        self.account = Some(account.to_string());
        self
    }
}

impl BracketRequest {
    /// Bracket with a limit entry (`entry = None` for a market entry).
    pub fn new(
        contract: Contract,
        action: Action,
        quantity: f64,
        entry: Option<f64>,
        take_profit: f64,
        stop_loss: f64,
    ) -> Self {
        BracketRequest {
            contract,
            action,
            quantity,
            entry_price: entry,
            take_profit,
            stop_loss,
            tif: TimeInForce::Day,
            order_ref: None,
        }
    }
}

impl Action {
    /// The opposite side.
    pub fn reverse(self) -> Self {
        match self {
            Action::Buy => Action::Sell,
            Action::Sell => Action::Buy,
        }
    }
}

impl BarsRequest {
    /// Daily trade bars, regular hours, ending now.
    pub fn daily(contract: Contract, days: u32) -> Self {
        BarsRequest {
            contract,
            duration: Duration::Days(days),
            bar_size: BarSize::Day1,
            what_to_show: WhatToShow::Trades,
            use_rth: true,
            end: None,
        }
    }
}

impl Error {
    /// `invalid-argument` with a message naming the argument.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into())
    }

    /// `failed` with a message.
    pub fn failed(message: impl Into<String>) -> Self {
        Error::Failed(message.into())
    }

    /// A short, stable code for the error kind.
    pub fn code(&self) -> &'static str {
        match self {
            Error::PermissionDenied(_) => "permission-denied",
            Error::GuardrailViolation(_) => "guardrail-violation",
            Error::NotConnected => "not-connected",
            Error::InvalidArgument(_) => "invalid-argument",
            Error::BrokerError(_) => "broker-error",
            Error::Timeout => "timeout",
            Error::Cancelled => "cancelled",
            Error::Declined(_) => "declined",
            Error::Failed(_) => "failed",
        }
    }
}

impl Workflow {
    fn make(name: &str, description: &str, input_schema: Value, access: Access) -> Self {
        Workflow {
            name: name.to_string(),
            title: None,
            description: description.to_string(),
            input_schema: input_schema.to_string(),
            output_schema: None,
            access,
        }
    }

    /// A workflow that only reads data.
    pub fn read_only(name: &str, description: &str, input_schema: Value) -> Self {
        Self::make(name, description, input_schema, Access::ReadOnly)
    }

    /// A workflow that may place, modify or cancel orders.
    pub fn destructive(name: &str, description: &str, input_schema: Value) -> Self {
        Self::make(name, description, input_schema, Access::Destructive)
    }

    /// Human-readable title.
    pub fn with_title(mut self, title: &str) -> Self {
        self.title = Some(title.to_string());
        self
    }

    /// JSON Schema of the structured output.
    pub fn with_output_schema(mut self, schema: Value) -> Self {
        self.output_schema = Some(schema.to_string());
        self
    }
}

impl Prompt {
    /// A prompt without arguments.
    pub fn new(name: &str, description: &str) -> Self {
        Prompt {
            name: name.to_string(),
            title: None,
            description: description.to_string(),
            arguments: Vec::new(),
        }
    }

    /// Human-readable title.
    pub fn with_title(mut self, title: &str) -> Self {
        self.title = Some(title.to_string());
        self
    }

    /// Add an argument.
    pub fn arg(
        mut self,
        name: &str,
        description: &str,
        required: bool,
        kind: ArgumentKind,
    ) -> Self {
        self.arguments.push(PromptArgument {
            name: name.to_string(),
            description: description.to_string(),
            required,
            kind,
        });
        self
    }
}

impl PromptMessage {
    /// A user message.
    pub fn user(text: impl Into<String>) -> Self {
        PromptMessage {
            role: Role::User,
            text: text.into(),
        }
    }

    /// An assistant message.
    pub fn assistant(text: impl Into<String>) -> Self {
        PromptMessage {
            role: Role::Assistant,
            text: text.into(),
        }
    }
}

/// Arguments of a prompt rendering request.
#[derive(Debug, Clone, Default)]
pub struct PromptArgs(Vec<(String, String)>);

impl PromptArgs {
    /// Wrap raw (name, value) pairs.
    pub fn new(args: Vec<(String, String)>) -> Self {
        PromptArgs(args)
    }

    /// The value of an argument, if given and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// The value of an argument or a default.
    pub fn get_or<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        self.get(name).unwrap_or(default)
    }

    /// The value of a required argument, or `invalid-argument` naming it.
    pub fn require(&self, name: &str) -> Result<&str, Error> {
        self.get(name)
            .ok_or_else(|| Error::InvalidArgument(format!("argument `{name}` is required")))
    }

    /// All (name, value) pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}
