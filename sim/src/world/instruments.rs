//! The instrument universe: contract details, resolution, symbol search, market rules and
//! option chains.

use std::collections::HashMap;

use super::clock::{self, DAY_MS};
use super::config::{InstrumentConfig, WorldConfig};
use crate::api::{Contract, ContractDescription, ContractDetails, PriceIncrement};

/// Asset class of an instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetKind {
    Stock,
    Etf,
    Fx,
    Future,
    Index,
    Option,
}

/// Option terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptionTerms {
    /// Instrument index of the underlying.
    pub underlying: usize,
    pub strike: f64,
    pub call: bool,
    /// Expiry instant (16:00 US/Eastern of the expiration day), epoch ms.
    pub expiry_ms: i64,
}

/// One tradable (or index) instrument.
#[derive(Debug, Clone)]
pub struct Instrument {
    pub details: ContractDetails,
    pub kind: AssetKind,
    /// Contract multiplier as a number (1 for stocks).
    pub multiplier: f64,
    /// Price at the anchor day's close.
    pub price: f64,
    pub vol: f64,
    pub drift: f64,
    pub market_corr: f64,
    pub avg_volume: f64,
    pub spread_bps: f64,
    pub implied_vol: f64,
    pub option: Option<OptionTerms>,
}

impl Instrument {
    pub fn con_id(&self) -> i32 {
        self.details.contract.con_id
    }
    pub fn symbol(&self) -> &str {
        &self.details.contract.symbol
    }
    pub fn sec_type(&self) -> &str {
        &self.details.contract.sec_type
    }
    pub fn contract(&self) -> &Contract {
        &self.details.contract
    }
    pub fn min_tick(&self) -> f64 {
        self.details.min_tick
    }
    pub fn market_rule(&self) -> i32 {
        self.details
            .market_rule_ids
            .split(',')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(RULE_STK)
    }
}

pub const RULE_STK: i32 = 26;
pub const RULE_OPT: i32 = 32;
pub const RULE_ES: i32 = 67;
pub const RULE_FX: i32 = 239;
pub const RULE_IND: i32 = 62;

/// Price increments of a market rule.
pub fn market_rule(id: i32) -> Option<Vec<PriceIncrement>> {
    let b = |low_edge, increment| PriceIncrement {
        low_edge,
        increment,
    };
    Some(match id {
        RULE_STK => vec![b(0.0, 0.0001), b(1.0, 0.01)],
        RULE_OPT => vec![b(0.0, 0.01), b(3.0, 0.05)],
        RULE_ES => vec![b(0.0, 0.25)],
        RULE_FX => vec![b(0.0, 0.00005)],
        RULE_IND => vec![b(0.0, 0.01)],
        _ => return None,
    })
}

/// Increment applicable to `price` under rule `id`.
pub fn increment_for(id: i32, price: f64) -> f64 {
    let rule = market_rule(id).unwrap_or_else(|| market_rule(RULE_STK).unwrap());
    let mut inc = rule[0].increment;
    for r in &rule {
        if price.abs() >= r.low_edge - 1e-12 {
            inc = r.increment;
        }
    }
    inc
}

/// Whether `price` conforms to the minimum price variation of rule `id`.
pub fn conforms(id: i32, price: f64) -> bool {
    let inc = increment_for(id, price);
    let n = price / inc;
    (n - n.round()).abs() < 1e-6
}

/// Round to the nearest increment of rule `id`.
pub fn round_to_rule(id: i32, price: f64) -> f64 {
    let inc = increment_for(id, price);
    let r = (price / inc).round() * inc;
    // Clean binary noise.
    (r * 1e8).round() / 1e8
}

struct Builtin {
    symbol: &'static str,
    con_id: i32,
    kind: AssetKind,
    long_name: &'static str,
    primary: &'static str,
    industry: &'static str,
    category: &'static str,
    subcategory: &'static str,
    price: f64,
    vol: f64,
    drift: f64,
    corr: f64,
    avg_volume: f64,
}

#[allow(clippy::too_many_arguments)]
const fn bi(
    symbol: &'static str,
    con_id: i32,
    kind: AssetKind,
    long_name: &'static str,
    primary: &'static str,
    industry: &'static str,
    category: &'static str,
    subcategory: &'static str,
    price: f64,
    vol: f64,
    corr: f64,
    avg_volume: f64,
) -> Builtin {
    Builtin {
        symbol,
        con_id,
        kind,
        long_name,
        primary,
        industry,
        category,
        subcategory,
        price,
        vol,
        drift: 0.06,
        corr,
        avg_volume,
    }
}

use AssetKind::{Etf, Future, Fx, Index, Stock};

const FUNDS: &str = "Funds";
const EQF: &str = "Equity Fund";
const BF: &str = "Debt Fund";

#[rustfmt::skip]
const BUILTINS: &[Builtin] = &[
    bi("SPY", 756733, Etf, "SPDR S&P 500 ETF TRUST", "ARCA", FUNDS, EQF, "Large Cap", 660.0, 0.17, 0.98, 70e6),
    bi("VTI", 12340038, Etf, "VANGUARD TOTAL STOCK MKT ETF", "ARCA", FUNDS, EQF, "Large Cap", 325.0, 0.17, 0.97, 4e6),
    bi("QQQ", 320227571, Etf, "INVESCO QQQ TRUST SERIES 1", "NASDAQ", FUNDS, EQF, "Large Cap Growth", 600.0, 0.22, 0.92, 45e6),
    bi("IWM", 9579970, Etf, "ISHARES RUSSELL 2000 ETF", "ARCA", FUNDS, EQF, "Small Cap", 240.0, 0.22, 0.85, 30e6),
    bi("VOO", 136155102, Etf, "VANGUARD S&P 500 ETF", "ARCA", FUNDS, EQF, "Large Cap", 605.0, 0.17, 0.98, 6e6),
    bi("DIA", 73128548, Etf, "SPDR DJ INDUSTRIAL AVERAGE", "ARCA", FUNDS, EQF, "Large Cap", 470.0, 0.16, 0.93, 3e6),
    bi("TLT", 15547841, Etf, "ISHARES 20+ YEAR TREASURY BD", "NASDAQ", FUNDS, BF, "Government", 90.0, 0.15, -0.25, 35e6),
    bi("BND", 43645865, Etf, "VANGUARD TOTAL BOND MARKET", "NASDAQ", FUNDS, BF, "Broad Market", 74.0, 0.06, -0.1, 6e6),
    bi("AGG", 4793458, Etf, "ISHARES CORE U.S. AGGREGATE", "ARCA", FUNDS, BF, "Broad Market", 100.0, 0.06, -0.1, 8e6),
    bi("IEF", 15547816, Etf, "ISHARES 7-10 YEAR TREASURY BD", "NASDAQ", FUNDS, BF, "Government", 96.0, 0.08, -0.2, 8e6),
    bi("SHY", 15547837, Etf, "ISHARES 1-3 YEAR TREASURY BD", "NASDAQ", FUNDS, BF, "Government", 83.0, 0.02, -0.05, 4e6),
    bi("LQD", 27684070, Etf, "ISHARES IBOXX INV GR CORP BD", "ARCA", FUNDS, BF, "Corporate", 110.0, 0.08, 0.1, 20e6),
    bi("HYG", 43652201, Etf, "ISHARES IBOXX HIGH YLD CORP", "ARCA", FUNDS, BF, "Corporate", 80.0, 0.07, 0.6, 30e6),
    bi("TIP", 27684071, Etf, "ISHARES TIPS BOND ETF", "ARCA", FUNDS, BF, "Government", 111.0, 0.05, 0.0, 3e6),
    bi("GLD", 51529211, Etf, "SPDR GOLD SHARES", "ARCA", FUNDS, "Commodity Fund", "Precious Metals", 380.0, 0.16, 0.05, 10e6),
    bi("VNQ", 36397985, Etf, "VANGUARD REAL ESTATE ETF", "ARCA", FUNDS, EQF, "Real Estate", 90.0, 0.2, 0.7, 4e6),
    bi("VXUS", 120314838, Etf, "VANGUARD TOTAL INTL STOCK", "NASDAQ", FUNDS, EQF, "International", 73.0, 0.15, 0.8, 4e6),
    bi("VEA", 61504022, Etf, "VANGUARD FTSE DEVELOPED ETF", "ARCA", FUNDS, EQF, "International", 60.0, 0.15, 0.8, 10e6),
    bi("VWO", 27684045, Etf, "VANGUARD FTSE EMERGING MARKE", "ARCA", FUNDS, EQF, "Emerging Markets", 53.0, 0.18, 0.7, 9e6),
    bi("XLK", 4215235, Etf, "TECHNOLOGY SELECT SECT SPDR", "ARCA", FUNDS, EQF, "Technology", 280.0, 0.23, 0.9, 7e6),
    bi("XLF", 4215220, Etf, "FINANCIAL SELECT SECTOR SPDR", "ARCA", FUNDS, EQF, "Financial", 53.0, 0.18, 0.85, 40e6),
    bi("XLE", 4215217, Etf, "ENERGY SELECT SECTOR SPDR", "ARCA", FUNDS, EQF, "Energy", 90.0, 0.24, 0.5, 15e6),
    bi("XLV", 4215228, Etf, "HEALTH CARE SELECT SECTOR", "ARCA", FUNDS, EQF, "Health Care", 145.0, 0.15, 0.7, 8e6),
    bi("XLY", 4215241, Etf, "CONSUMER DISCRETIONARY SELT", "ARCA", FUNDS, EQF, "Consumer Discretionary", 235.0, 0.2, 0.85, 4e6),
    bi("XLI", 4215223, Etf, "INDUSTRIAL SELECT SECT SPDR", "ARCA", FUNDS, EQF, "Industrials", 155.0, 0.17, 0.85, 9e6),
    bi("XLP", 4215233, Etf, "CONSUMER STAPLES SPDR", "ARCA", FUNDS, EQF, "Consumer Staples", 78.0, 0.12, 0.55, 10e6),
    bi("XLU", 4215238, Etf, "UTILITIES SELECT SECTOR SPDR", "ARCA", FUNDS, EQF, "Utilities", 86.0, 0.15, 0.45, 12e6),
    bi("AAPL", 265598, Stock, "APPLE INC", "NASDAQ", "Technology", "Computers", "Computers", 270.0, 0.27, 0.75, 50e6),
    bi("MSFT", 272093, Stock, "MICROSOFT CORP", "NASDAQ", "Technology", "Software", "Applications Software", 500.0, 0.25, 0.75, 20e6),
    bi("NVDA", 4815747, Stock, "NVIDIA CORP", "NASDAQ", "Technology", "Semiconductors", "Electronic Compo-Semicon", 180.0, 0.45, 0.7, 180e6),
    bi("AMZN", 3691937, Stock, "AMAZON.COM INC", "NASDAQ", "Communications", "Internet", "E-Commerce/Products", 230.0, 0.3, 0.7, 40e6),
    bi("GOOGL", 208813719, Stock, "ALPHABET INC-CL A", "NASDAQ", "Communications", "Internet", "Web Portals/ISP", 290.0, 0.3, 0.7, 30e6),
    bi("META", 107113386, Stock, "META PLATFORMS INC-CLASS A", "NASDAQ", "Communications", "Internet", "Internet Content-Entmnt", 600.0, 0.38, 0.65, 15e6),
    bi("TSLA", 76792991, Stock, "TESLA INC", "NASDAQ", "Consumer, Cyclical", "Auto Manufacturers", "Auto-Cars/Light Trucks", 400.0, 0.6, 0.55, 90e6),
    bi("JPM", 1520593, Stock, "JPMORGAN CHASE & CO", "NYSE", "Financial", "Banks", "Money Center Banks", 300.0, 0.22, 0.7, 9e6),
    bi("XOM", 13977, Stock, "EXXON MOBIL CORP", "NYSE", "Energy", "Oil&Gas", "Oil Comp-Integrated", 115.0, 0.24, 0.45, 15e6),
    bi("KO", 8894, Stock, "COCA-COLA CO/THE", "NYSE", "Consumer, Non-cyclical", "Beverages", "Beverages-Non-alcoholic", 70.0, 0.15, 0.45, 14e6),
    bi("JNJ", 8719, Stock, "JOHNSON & JOHNSON", "NYSE", "Consumer, Non-cyclical", "Pharmaceuticals", "Medical-Drugs", 190.0, 0.16, 0.4, 8e6),
    bi("V", 49462172, Stock, "VISA INC-CLASS A SHARES", "NYSE", "Financial", "Diversified Finan Serv", "Finance-Credit Card", 340.0, 0.2, 0.7, 7e6),
    bi("SNDL", 368573406, Stock, "SNDL INC", "NASDAQ", "Consumer, Non-cyclical", "Pharmaceuticals", "Medical-Drugs", 0.8745, 0.7, 0.3, 5e6),
    bi("EUR", 12087792, Fx, "European Monetary Union Euro", "", "", "", "", 1.16, 0.07, 0.1, 1e9),
    bi("ES", 495512563, Future, "E-mini S&P 500", "", "", "", "", 6700.0, 0.17, 0.99, 1.5e6),
    bi("SPX", 416904, Index, "S&P 500 Stock Index", "", "Indices", "Broad Range Equity Index", "*", 6650.0, 0.17, 1.0, 0.0),
];

/// Daily session string for TWS's tradingHours/liquidHours fields, for 7 days from `day`.
fn hours_string(day: i64, open: &str, close: &str, always: bool, overnight: bool) -> String {
    let mut parts = Vec::new();
    for d in day..day + 7 {
        let ds = clock::fmt_day(d);
        if !always && (clock::is_weekend(d) || clock::is_nyse_holiday(d)) {
            parts.push(format!("{ds}:CLOSED"));
        } else if overnight {
            let prev = clock::fmt_day(d - 1);
            parts.push(format!("{prev}:{open}-{ds}:{close}"));
        } else {
            parts.push(format!("{ds}:{open}-{ds}:{close}"));
        }
    }
    parts.join(";")
}

/// The universe.
#[derive(Debug, Clone)]
pub struct Universe {
    pub instruments: Vec<Instrument>,
    by_con_id: HashMap<i32, usize>,
    by_symbol: HashMap<String, Vec<usize>>,
    /// Per underlying instrument index: (expirations "YYYYMMDD", strikes).
    pub chains: Vec<(usize, Vec<String>, Vec<f64>)>,
}

fn apply_override(inst: &mut Instrument, o: &InstrumentConfig) {
    if let Some(v) = o.price {
        inst.price = v;
    }
    if let Some(v) = o.vol {
        inst.vol = v;
        inst.implied_vol = v * 1.1;
    }
    if let Some(v) = o.drift {
        inst.drift = v;
    }
    if let Some(v) = o.market_corr {
        inst.market_corr = v.clamp(-1.0, 1.0);
    }
    if let Some(v) = o.avg_volume {
        inst.avg_volume = v;
    }
    if let Some(v) = o.spread_bps {
        inst.spread_bps = v;
    }
    if let Some(v) = o.implied_vol {
        inst.implied_vol = v;
    }
    if let Some(v) = &o.long_name {
        inst.details.long_name = v.clone();
    }
    if let Some(v) = &o.industry {
        inst.details.industry = v.clone();
    }
    if let Some(v) = &o.category {
        inst.details.category = v.clone();
    }
    if let Some(v) = &o.primary_exchange {
        inst.details.contract.primary_exchange = v.clone();
    }
}

fn stock_details(
    symbol: &str,
    con_id: i32,
    etf: bool,
    long_name: &str,
    primary: &str,
    always: bool,
    today: i64,
) -> ContractDetails {
    let contract = Contract {
        con_id,
        symbol: symbol.into(),
        sec_type: "STK".into(),
        exchange: "SMART".into(),
        primary_exchange: primary.into(),
        currency: "USD".into(),
        local_symbol: symbol.into(),
        trading_class: if primary == "NASDAQ" {
            "NMS".into()
        } else {
            symbol.into()
        },
        ..Default::default()
    };
    let exchanges = "SMART,AMEX,NYSE,CBOE,PHLX,ISE,CHX,ARCA,NASDAQ,DRCTEDGE,BEX,BATS,EDGEA,BYX,IEX,EDGX,FOXRIVER,PEARL,NYSENAT,LTSE,MEMX,IBEOS,OVERNIGHT,TPLUS0,PSX";
    let n = exchanges.split(',').count();
    ContractDetails {
        contract,
        market_name: if primary == "NASDAQ" {
            "NMS".into()
        } else {
            symbol.into()
        },
        min_tick: 0.01,
        order_types: "ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AON,AVGCOST,BASKET,BENCHPX,CASHQTY,COND,CONDORDER,DARKONLY,DARKPOLL,DAY,DEACT,DEACTDIS,DEACTEOD,DIS,DUR,GAT,GTC,GTD,GTT,HID,IBKRATS,ICE,IMB,IOC,LIT,LMT,LOC,MIDPX,MIT,MKT,MOC,MTL,NGCOMB,NODARK,NONALGO,OCA,OPG,OPGREROUT,PEGBENCH,PEGMID,POSTATS,POSTONLY,PREOPGRTH,PRICECHK,REL,REL2MID,RELPCTOFS,RPI,RTH,SCALE,SCALEODD,SCALERST,SIZECHK,SNAPMID,SNAPMKT,SNAPREL,STP,STPLMT,SWEEP,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,WHATIF".into(),
        valid_exchanges: exchanges.into(),
        price_magnifier: 1,
        long_name: long_name.into(),
        time_zone_id: "US/Eastern".into(),
        trading_hours: hours_string(today, "0400", "2000", always, false),
        liquid_hours: hours_string(today, "0930", "1600", always, false),
        ev_multiplier: 0.0,
        agg_group: 1,
        market_rule_ids: vec![RULE_STK.to_string(); n].join(","),
        stock_type: if etf { "ETF".into() } else { "COMMON".into() },
        min_size: 0.0001,
        size_increment: 0.0001,
        suggested_size_increment: 100.0,
        sec_id_list: Vec::new(),
        ..Default::default()
    }
}

/// Third Friday of a month.
pub fn third_friday(y: i64, m: u32) -> i64 {
    clock::nth_weekday(y, m, 5, 3)
}

impl Universe {
    /// Build the universe from the config. `today` is the start day (days since epoch).
    pub fn build(cfg: &WorldConfig, today: i64) -> Self {
        let always = cfg.market_hours == super::config::MarketHours::Always;
        let mut instruments = Vec::new();
        for b in BUILTINS {
            instruments.push(Self::from_builtin(b, always, today));
        }
        for o in &cfg.instruments {
            let sym = o.symbol.to_ascii_uppercase();
            let st = o.sec_type.clone().map(|s| s.to_ascii_uppercase());
            if let Some(inst) = instruments
                .iter_mut()
                .find(|i| i.symbol() == sym && st.as_deref().is_none_or(|s| s == i.sec_type()))
            {
                apply_override(inst, o);
            } else {
                let con_id = o.con_id.unwrap_or(900_000_000 + instruments.len() as i32);
                let mut inst = Instrument {
                    details: stock_details(
                        &sym,
                        con_id,
                        false,
                        &sym,
                        o.primary_exchange.as_deref().unwrap_or("NYSE"),
                        always,
                        today,
                    ),
                    kind: AssetKind::Stock,
                    multiplier: 1.0,
                    price: 100.0,
                    vol: 0.25,
                    drift: 0.06,
                    market_corr: 0.6,
                    avg_volume: 1e6,
                    spread_bps: 2.0,
                    implied_vol: 0.275,
                    option: None,
                };
                apply_override(&mut inst, o);
                instruments.push(inst);
            }
        }
        let mut uni = Universe {
            instruments,
            by_con_id: HashMap::new(),
            by_symbol: HashMap::new(),
            chains: Vec::new(),
        };
        uni.add_options(cfg, today);
        uni.reindex();
        uni
    }

    fn from_builtin(b: &Builtin, always: bool, today: i64) -> Instrument {
        let (details, multiplier, spread_bps) = match b.kind {
            Stock | Etf => {
                let mut d = stock_details(
                    b.symbol,
                    b.con_id,
                    b.kind == Etf,
                    b.long_name,
                    b.primary,
                    always,
                    today,
                );
                d.industry = b.industry.into();
                d.category = b.category.into();
                d.subcategory = b.subcategory.into();
                (d, 1.0, if b.avg_volume > 20e6 { 0.3 } else { 1.5 })
            }
            Fx => {
                let contract = Contract {
                    con_id: b.con_id,
                    symbol: b.symbol.into(),
                    sec_type: "CASH".into(),
                    exchange: "IDEALPRO".into(),
                    currency: "USD".into(),
                    local_symbol: format!("{}.USD", b.symbol),
                    trading_class: format!("{}.USD", b.symbol),
                    ..Default::default()
                };
                let d = ContractDetails {
                    contract,
                    market_name: format!("{}.USD", b.symbol),
                    min_tick: 0.00005,
                    order_types: "ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AVGCOST,BASKET,CASHQTY,COND,CONDORDER,DAY,DEACT,DEACTDIS,DEACTEOD,GAT,GTC,GTD,GTT,IOC,LMT,MKT,NONALGO,OCA,REL,RELPCTOFS,SCALE,SCALERST,STP,STPLMT,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,WHATIF".into(),
                    valid_exchanges: "IDEALPRO".into(),
                    price_magnifier: 1,
                    long_name: b.long_name.into(),
                    time_zone_id: "US/Eastern".into(),
                    trading_hours: hours_string(today, "1715", "1700", always, true),
                    liquid_hours: hours_string(today, "1715", "1700", always, true),
                    market_rule_ids: RULE_FX.to_string(),
                    min_size: 0.01,
                    size_increment: 0.01,
                    suggested_size_increment: 0.01,
                    ..Default::default()
                };
                (d, 1.0, 0.4)
            }
            Future => {
                // Front quarterly contract after the start day.
                let (mut y, mut m, _) = clock::civil_from_days(today);
                loop {
                    if m % 3 == 0 && third_friday(y, m) > today {
                        break;
                    }
                    m += 1;
                    if m > 12 {
                        m = 1;
                        y += 1;
                    }
                }
                let ltd = third_friday(y, m);
                let code =
                    ["F", "G", "H", "J", "K", "M", "N", "Q", "U", "V", "X", "Z"][(m - 1) as usize];
                let contract = Contract {
                    con_id: b.con_id,
                    symbol: b.symbol.into(),
                    sec_type: "FUT".into(),
                    last_trade_date_or_contract_month: clock::fmt_day(ltd),
                    multiplier: "50".into(),
                    exchange: "CME".into(),
                    currency: "USD".into(),
                    local_symbol: format!("{}{}{}", b.symbol, code, y % 10),
                    trading_class: b.symbol.into(),
                    ..Default::default()
                };
                let d = ContractDetails {
                    contract,
                    market_name: b.symbol.into(),
                    min_tick: 0.25,
                    order_types: "ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AVGCOST,BASKET,COND,CONDORDER,DAY,DEACT,DEACTDIS,DEACTEOD,GAT,GTC,GTD,GTT,HID,ICE,IOC,LIT,LMT,LTH,MIT,MKT,MTL,NGCOMB,NONALGO,OCA,SCALE,SCALERST,SNAPMID,SNAPMKT,SNAPREL,STP,STPLMT,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,WHATIF".into(),
                    valid_exchanges: "CME,QBALGO".into(),
                    price_magnifier: 1,
                    under_con_id: 11004968,
                    long_name: b.long_name.into(),
                    contract_month: format!("{y:04}{m:02}"),
                    time_zone_id: "US/Central".into(),
                    trading_hours: hours_string(today, "1700", "1600", always, true),
                    liquid_hours: hours_string(today, "0830", "1500", always, false),
                    ev_multiplier: 0.0,
                    under_symbol: "ES".into(),
                    under_sec_type: "IND".into(),
                    market_rule_ids: format!("{RULE_ES},{RULE_ES}"),
                    real_expiration_date: clock::fmt_day(ltd),
                    last_trade_time: "09:30:00".into(),
                    min_size: 1.0,
                    size_increment: 1.0,
                    suggested_size_increment: 1.0,
                    ..Default::default()
                };
                (d, 50.0, 0.4)
            }
            Index | AssetKind::Option => {
                let contract = Contract {
                    con_id: b.con_id,
                    symbol: b.symbol.into(),
                    sec_type: "IND".into(),
                    exchange: "CBOE".into(),
                    currency: "USD".into(),
                    local_symbol: b.symbol.into(),
                    trading_class: b.symbol.into(),
                    ..Default::default()
                };
                let d = ContractDetails {
                    contract,
                    market_name: b.symbol.into(),
                    min_tick: 0.01,
                    order_types: "ACTIVETIM,AD,ADJUST,ALERT,ALLOC,AVGCOST,BASKET,COND,CONDORDER,DAY,DEACT,DEACTDIS,DEACTEOD,GTC,NONALGO,OCA,SCALE,SCALERST,WHATIF".into(),
                    valid_exchanges: "CBOE".into(),
                    price_magnifier: 1,
                    long_name: b.long_name.into(),
                    industry: b.industry.into(),
                    category: b.category.into(),
                    subcategory: b.subcategory.into(),
                    time_zone_id: "US/Central".into(),
                    trading_hours: hours_string(today, "0830", "1500", always, false),
                    liquid_hours: hours_string(today, "0830", "1500", always, false),
                    market_rule_ids: RULE_IND.to_string(),
                    ..Default::default()
                };
                (d, 1.0, 0.0)
            }
        };
        Instrument {
            details,
            kind: b.kind,
            multiplier,
            price: b.price,
            vol: b.vol,
            drift: b.drift,
            market_corr: b.corr,
            avg_volume: b.avg_volume,
            spread_bps,
            implied_vol: b.vol * 1.1 + 0.02,
            option: None,
        }
    }

    fn add_options(&mut self, cfg: &WorldConfig, today: i64) {
        let oc = &cfg.options;
        // Expirations: next N Fridays + next M third Fridays, after `today`.
        let mut exp_days: Vec<i64> = Vec::new();
        let mut d = today + 1;
        while exp_days.len() < oc.weekly_expirations as usize {
            if clock::weekday(d) == 5 {
                exp_days.push(d);
            }
            d += 1;
        }
        let (mut y, mut m, _) = clock::civil_from_days(today);
        let mut monthly = 0;
        while monthly < oc.monthly_expirations {
            let tf = third_friday(y, m);
            if tf > today {
                if !exp_days.contains(&tf) {
                    exp_days.push(tf);
                }
                monthly += 1;
            }
            m += 1;
            if m > 12 {
                m = 1;
                y += 1;
            }
        }
        exp_days.sort_unstable();
        let always = cfg.market_hours == super::config::MarketHours::Always;
        for (ui, sym) in oc.underlyings.iter().enumerate() {
            let sym = sym.to_ascii_uppercase();
            let Some(uidx) = self
                .instruments
                .iter()
                .position(|i| i.symbol() == sym && matches!(i.kind, Stock | Etf))
            else {
                continue;
            };
            let under = self.instruments[uidx].clone();
            let step = if under.price < 25.0 {
                0.5
            } else if under.price < 100.0 {
                1.0
            } else if under.price < 400.0 {
                2.5
            } else {
                5.0
            };
            let atm = (under.price / step).round() * step;
            let k = oc.strikes_each_side as i64;
            let strikes: Vec<f64> = (-k..=k)
                .map(|i| atm + i as f64 * step)
                .filter(|s| *s > 0.0)
                .collect();
            let expirations: Vec<String> = exp_days.iter().map(|d| clock::fmt_day(*d)).collect();
            for (ei, ed) in exp_days.iter().enumerate() {
                let expiry_ms = clock::eastern_to_utc(*ed, 16 * 3600);
                for (si, strike) in strikes.iter().enumerate() {
                    for (ri, call) in [true, false].into_iter().enumerate() {
                        let con_id = 700_000_000
                            + ui as i32 * 2_000_000
                            + ei as i32 * 20_000
                            + si as i32 * 2
                            + ri as i32;
                        let right = if call { "C" } else { "P" };
                        let (yy, mm, dd) = clock::civil_from_days(*ed);
                        let local = format!(
                            "{:<6}{:02}{:02}{:02}{}{:08}",
                            sym,
                            yy % 100,
                            mm,
                            dd,
                            right,
                            (strike * 1000.0).round() as i64
                        );
                        let contract = Contract {
                            con_id,
                            symbol: sym.clone(),
                            sec_type: "OPT".into(),
                            last_trade_date_or_contract_month: clock::fmt_day(*ed),
                            strike: *strike,
                            right: right.into(),
                            multiplier: "100".into(),
                            exchange: "SMART".into(),
                            currency: "USD".into(),
                            local_symbol: local,
                            trading_class: sym.clone(),
                            ..Default::default()
                        };
                        let details = ContractDetails {
                            contract,
                            market_name: sym.clone(),
                            min_tick: 0.01,
                            order_types: "ACTIVETIM,AD,ADJUST,ALERT,ALLOC,AVGCOST,BASKET,COND,CONDORDER,DAY,DEACT,DEACTDIS,DEACTEOD,DIS,GAT,GTC,GTD,GTT,HID,ICE,IOC,LIT,LMT,MIT,MKT,MTL,NGCOMB,NONALGO,OCA,OPENCLOSE,PEGMIDVOL,PEGMKTVOL,PEGPRMVOL,PEGSRFVOL,POSTONLY,PRICECHK,REL,REL2MID,RELPCTOFS,SCALE,SCALERST,SIZECHK,SNAPMID,SNAPMKT,SNAPREL,STP,STPLMT,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,VOLAT,WHATIF".into(),
                            valid_exchanges: "SMART,AMEX,CBOE,PHLX,PSE,ISE,BOX,BATS,NASDAQOM,CBOE2,NASDAQBX,MIAX,GEMINI,EDGX,MERCURY,PEARL,EMERALD,MEMX,IBUSOPT".into(),
                            price_magnifier: 1,
                            under_con_id: under.con_id(),
                            long_name: under.details.long_name.clone(),
                            contract_month: format!("{yy:04}{mm:02}"),
                            industry: under.details.industry.clone(),
                            category: under.details.category.clone(),
                            subcategory: under.details.subcategory.clone(),
                            time_zone_id: "US/Eastern".into(),
                            trading_hours: hours_string(today, "0930", "1600", always, false),
                            liquid_hours: hours_string(today, "0930", "1600", always, false),
                            under_symbol: sym.clone(),
                            under_sec_type: "STK".into(),
                            market_rule_ids: vec![RULE_OPT.to_string(); 19].join(","),
                            real_expiration_date: clock::fmt_day(*ed),
                            last_trade_time: "16:00:00".into(),
                            min_size: 1.0,
                            size_increment: 1.0,
                            suggested_size_increment: 1.0,
                            ..Default::default()
                        };
                        self.instruments.push(Instrument {
                            details,
                            kind: AssetKind::Option,
                            multiplier: 100.0,
                            price: 0.0,
                            vol: under.vol,
                            drift: 0.0,
                            market_corr: 0.0,
                            avg_volume: 2_000.0,
                            spread_bps: 0.0,
                            implied_vol: under.implied_vol,
                            option: Some(OptionTerms {
                                underlying: uidx,
                                strike: *strike,
                                call,
                                expiry_ms,
                            }),
                        });
                    }
                }
            }
            self.chains.push((uidx, expirations, strikes));
        }
    }

    fn reindex(&mut self) {
        self.by_con_id.clear();
        self.by_symbol.clear();
        for (i, inst) in self.instruments.iter().enumerate() {
            self.by_con_id.insert(inst.con_id(), i);
            self.by_symbol
                .entry(inst.symbol().to_string())
                .or_default()
                .push(i);
        }
    }

    pub fn get(&self, idx: usize) -> &Instrument {
        &self.instruments[idx]
    }

    pub fn len(&self) -> usize {
        self.instruments.len()
    }

    pub fn is_empty(&self) -> bool {
        self.instruments.is_empty()
    }

    pub fn by_con_id(&self, con_id: i32) -> Option<usize> {
        self.by_con_id.get(&con_id).copied()
    }

    /// Index of a non-option instrument by symbol (STK preferred).
    pub fn by_symbol(&self, symbol: &str, sec_type: Option<&str>) -> Option<usize> {
        let v = self.by_symbol.get(&symbol.to_ascii_uppercase())?;
        let pick =
            |f: &dyn Fn(&Instrument) -> bool| v.iter().copied().find(|i| f(&self.instruments[*i]));
        match sec_type {
            Some(st) => pick(&|i| i.sec_type().eq_ignore_ascii_case(st)),
            None => pick(&|i| i.kind != AssetKind::Option && i.sec_type() == "STK")
                .or_else(|| pick(&|i| i.kind != AssetKind::Option)),
        }
    }

    /// All instruments matching a (partial) contract, like reqContractDetails.
    pub fn matches(&self, c: &Contract) -> Vec<usize> {
        if c.con_id > 0 {
            return self.by_con_id(c.con_id).into_iter().collect();
        }
        let mut sym = c.symbol.trim().to_ascii_uppercase();
        let mut sec_type = c.sec_type.trim().to_ascii_uppercase();
        let local = c.local_symbol.trim().to_ascii_uppercase();
        if sym.is_empty() && !local.is_empty() {
            // e.g. "EUR.USD" or an OCC option symbol.
            sym = local
                .split(['.', ' '])
                .next()
                .unwrap_or_default()
                .to_string();
        }
        if sec_type.is_empty() {
            sec_type = "STK".into();
        }
        let Some(cands) = self.by_symbol.get(&sym) else {
            return Vec::new();
        };
        let right = match c.right.trim().to_ascii_uppercase().as_str() {
            "C" | "CALL" => "C",
            "P" | "PUT" => "P",
            _ => "",
        };
        let expiry = c.last_trade_date_or_contract_month.trim();
        let exch = c.exchange.trim().to_ascii_uppercase();
        let ccy = c.currency.trim().to_ascii_uppercase();
        let mult = c.multiplier.trim();
        cands
            .iter()
            .copied()
            .filter(|&i| {
                let inst = &self.instruments[i];
                let ic = inst.contract();
                if ic.sec_type != sec_type {
                    return false;
                }
                if !ccy.is_empty() && ic.currency != ccy {
                    return false;
                }
                if !exch.is_empty()
                    && exch != "SMART"
                    && exch != ic.exchange
                    && !inst.details.valid_exchanges.split(',').any(|e| e == exch)
                {
                    return false;
                }
                if !local.is_empty() && ic.local_symbol.to_ascii_uppercase() != local {
                    // Allow OCC symbols with varying padding.
                    let squash = |s: &str| s.replace(' ', "");
                    if squash(&ic.local_symbol) != squash(&local) {
                        return false;
                    }
                }
                if !expiry.is_empty()
                    && !ic.last_trade_date_or_contract_month.starts_with(expiry)
                    && inst.details.contract_month != expiry
                {
                    return false;
                }
                if c.strike > 0.0 && (ic.strike - c.strike).abs() > 1e-6 {
                    return false;
                }
                if !right.is_empty() && ic.right != right {
                    return false;
                }
                if !mult.is_empty()
                    && !ic.multiplier.is_empty()
                    && mult.parse::<f64>().ok() != ic.multiplier.parse::<f64>().ok()
                {
                    return false;
                }
                true
            })
            .collect()
    }

    /// Exactly one instrument, or the TWS error message (code 200).
    pub fn resolve(&self, c: &Contract) -> Result<usize, String> {
        let m = self.matches(c);
        match m.len() {
            1 => Ok(m[0]),
            0 => Err("No security definition has been found for the request".into()),
            _ => Err(format!(
                "The contract description specified for {} is ambiguous.",
                c.symbol
            )),
        }
    }

    /// reqMatchingSymbols: prefix matches on symbol first, then substring matches on symbol and
    /// name; non-option instruments only; at most 16.
    pub fn search(&self, pattern: &str) -> Vec<ContractDescription> {
        let p = pattern.trim().to_ascii_uppercase();
        if p.is_empty() {
            return Vec::new();
        }
        let mut scored: Vec<(u8, usize)> = Vec::new();
        for (i, inst) in self.instruments.iter().enumerate() {
            if inst.kind == AssetKind::Option {
                continue;
            }
            let sym = inst.symbol();
            let name = inst.details.long_name.to_ascii_uppercase();
            let score = if sym == p {
                0
            } else if sym.starts_with(&p) {
                1
            } else if name.starts_with(&p) {
                2
            } else if sym.contains(&p) || name.contains(&p) {
                3
            } else if p.len() >= 3 && edit_distance(sym, &p) <= 1 {
                // Fuzzy: one typo away from a symbol ("APPL" -> AAPL).
                4
            } else {
                continue;
            };
            scored.push((score, i));
        }
        scored.sort_by(|a, b| {
            a.0.cmp(&b.0).then_with(|| {
                self.instruments[a.1]
                    .symbol()
                    .cmp(self.instruments[b.1].symbol())
            })
        });
        scored
            .into_iter()
            .take(16)
            .map(|(_, i)| {
                let inst = &self.instruments[i];
                let has_opts = self.chains.iter().any(|(u, _, _)| *u == i);
                let derivative_sec_types = match inst.kind {
                    Stock | Etf => {
                        let mut v = vec!["CFD".to_string(), "WAR".into(), "IOPT".into()];
                        if has_opts {
                            v.insert(0, "OPT".into());
                        }
                        v
                    }
                    Index => vec!["OPT".into(), "FUT".into()],
                    Future => vec!["FOP".into()],
                    _ => Vec::new(),
                };
                let c = inst.contract();
                ContractDescription {
                    contract: Contract {
                        con_id: c.con_id,
                        symbol: c.symbol.clone(),
                        sec_type: c.sec_type.clone(),
                        primary_exchange: if c.primary_exchange.is_empty() {
                            c.exchange.clone()
                        } else {
                            c.primary_exchange.clone()
                        },
                        currency: c.currency.clone(),
                        description: inst.details.long_name.clone(),
                        ..Default::default()
                    },
                    derivative_sec_types,
                }
            })
            .collect()
    }

    /// Option chain of an underlying (by symbol or con id).
    pub fn chain_for(&self, symbol: &str, con_id: i32) -> Option<&(usize, Vec<String>, Vec<f64>)> {
        self.chains.iter().find(|(u, _, _)| {
            let inst = &self.instruments[*u];
            (con_id > 0 && inst.con_id() == con_id)
                || inst.symbol().eq_ignore_ascii_case(symbol.trim())
        })
    }
}

/// Levenshtein distance (small ASCII strings).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Day on which an instant falls in UTC.
pub fn day_of_ms(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uni() -> Universe {
        Universe::build(&WorldConfig::default(), clock::days_from_civil(2026, 1, 5))
    }

    #[test]
    fn universe_size_and_lookup() {
        let u = uni();
        let non_opt = u
            .instruments
            .iter()
            .filter(|i| i.kind != AssetKind::Option)
            .count();
        assert!(non_opt >= 30, "{non_opt}");
        let spy = u.by_symbol("SPY", None).unwrap();
        assert_eq!(u.get(spy).con_id(), 756733);
        let c = Contract {
            symbol: "AAPL".into(),
            sec_type: "STK".into(),
            exchange: "SMART".into(),
            currency: "USD".into(),
            ..Default::default()
        };
        assert_eq!(u.resolve(&c).unwrap(), u.by_symbol("AAPL", None).unwrap());
        let bad = Contract {
            symbol: "NOPE".into(),
            sec_type: "STK".into(),
            ..Default::default()
        };
        assert!(u.resolve(&bad).is_err());
        let eur = Contract {
            symbol: "EUR".into(),
            sec_type: "CASH".into(),
            exchange: "IDEALPRO".into(),
            currency: "USD".into(),
            ..Default::default()
        };
        assert!(u.resolve(&eur).is_ok());
    }

    #[test]
    fn option_resolution() {
        let u = uni();
        let (uidx, exps, strikes) = u.chain_for("SPY", 0).unwrap().clone();
        assert_eq!(u.get(uidx).symbol(), "SPY");
        assert!(exps.len() >= 6);
        let k = strikes[strikes.len() / 2];
        let c = Contract {
            symbol: "SPY".into(),
            sec_type: "OPT".into(),
            last_trade_date_or_contract_month: exps[0].clone(),
            strike: k,
            right: "C".into(),
            exchange: "SMART".into(),
            ..Default::default()
        };
        let i = u.resolve(&c).unwrap();
        assert_eq!(u.get(i).multiplier, 100.0);
        let all = Contract {
            right: String::new(),
            ..c.clone()
        };
        assert_eq!(u.matches(&all).len(), 2);
        assert!(u.resolve(&all).is_err());
    }

    #[test]
    fn rules() {
        assert!(conforms(RULE_STK, 100.01));
        assert!(!conforms(RULE_STK, 100.015));
        assert!(conforms(RULE_STK, 0.5012));
        assert!(conforms(RULE_ES, 6700.25));
        assert!(!conforms(RULE_ES, 6700.1));
        assert_eq!(round_to_rule(RULE_STK, 12.3456), 12.35);
    }

    #[test]
    fn search() {
        let u = uni();
        let r = u.search("AA");
        assert_eq!(r[0].contract.symbol, "AAPL");
        assert!(
            u.search("APPLE")
                .iter()
                .any(|d| d.contract.symbol == "AAPL")
        );
        assert!(u.search("X").len() <= 16);
        assert!(u.search("APPL").iter().any(|d| d.contract.symbol == "AAPL"));
        assert!(u.search("VANGUARD").len() >= 5);
        assert_eq!(edit_distance("AAPL", "APPL"), 1);
    }
}
