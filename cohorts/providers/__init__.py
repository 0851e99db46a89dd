"""Market-data providers: one interface (`base.MarketDataProvider`) in front of Alpaca, Finnhub, TwelveData and
the bars NeoLight stores; `QuoteService` tries them in order behind circuit breakers."""
