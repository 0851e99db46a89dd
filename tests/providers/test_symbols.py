"""NeoLight symbols in each provider's spelling and back, and clear refusals for what none can spell."""
import pytest

from cohorts.providers.symbols import SymbolError, is_crypto, neolight_symbol, provider_symbol

TABLE = [
    # NeoLight,  alpaca,     finnhub,             twelvedata
    ("SPY", "SPY", "SPY", "SPY"),
    ("BRK.B", "BRK.B", "BRK.B", "BRK.B"),
    ("BTC-USDT", "BTC/USDT", "BINANCE:BTCUSDT", "BTC/USDT"),
    ("ETH-USD", "ETH/USD", "COINBASE:ETH-USD", "ETH/USD"),
    ("DOGE-USDC", "DOGE/USDC", "BINANCE:DOGEUSDC", "DOGE/USDC"),
]


@pytest.mark.parametrize(("symbol", "alpaca", "finnhub", "twelvedata"), TABLE)
def test_each_provider_spells_the_symbol_and_reads_it_back(symbol, alpaca, finnhub, twelvedata):
    for provider, spelling in (("alpaca", alpaca), ("finnhub", finnhub), ("twelvedata", twelvedata),
                               ("stored", symbol)):
        assert provider_symbol(provider, symbol) == spelling
        assert neolight_symbol(provider, spelling) == symbol


def test_a_symbol_with_a_dash_is_a_crypto_pair():
    assert is_crypto("BTC-USDT") and is_crypto("ETH-USD")
    assert not is_crypto("SPY")


@pytest.mark.parametrize("symbol", ["", "btc-usdt", "BTC-USDT-PERP", "BTC/USDT", "S P Y", "TOOLONGTICKER"])
def test_what_is_not_a_neolight_symbol_is_refused_with_the_expected_forms(symbol):
    with pytest.raises(SymbolError, match="not a NeoLight symbol: an equity ticker such as SPY or a crypto pair"):
        provider_symbol("alpaca", symbol)


def test_a_pair_a_provider_does_not_quote_is_refused_by_name():
    with pytest.raises(SymbolError, match="Alpaca has no BTC-EUR: its crypto pairs are quoted in USD, USDT"):
        provider_symbol("alpaca", "BTC-EUR")
    with pytest.raises(SymbolError, match="Finnhub has no BTC-EUR"):
        provider_symbol("finnhub", "BTC-EUR")
    assert provider_symbol("twelvedata", "BTC-EUR") == "BTC/EUR"


@pytest.mark.parametrize(("provider", "spelling"), [("finnhub", "KRAKEN:XBTUSD"), ("finnhub", "BINANCE:USDT"),
                                                    ("alpaca", "BTC/USD/X"), ("twelvedata", "btc/usd")])
def test_a_provider_spelling_neolight_does_not_write_is_refused(provider, spelling):
    with pytest.raises(SymbolError, match=f"not a symbol NeoLight reads from {provider}"):
        neolight_symbol(provider, spelling)


def test_an_unknown_provider_is_refused():
    with pytest.raises(SymbolError, match="Unknown provider 'yahoo'"):
        provider_symbol("yahoo", "SPY")
