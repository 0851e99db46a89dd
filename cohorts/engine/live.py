"""Signals bar by bar: each family's indicators kept as rolling state, so a new bar costs O(window).

``LiveSignals`` gives, for one new bar, the same signal codes as ``build_signals`` gives for that row
of the whole array, bit for bit: every indicator repeats the float operations of its whole-array form
(``indicators``) in the same order. Running sums carry on the same running sum (their windows are
differences of it); the exponential and Wilder averages carry their last value; the rolling variance
carries Welford's state and restarts exactly at the same rows; highs, lows and flat-window tests read
the last ``window`` rows. ``prime`` builds the state after a known history with whole-array numpy
(once, when a replay turns live), ``state``/``load`` save and restore it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from . import indicators as ind
from . import signals as sg
from .genomes import Genome

STATE_PREFIX = "live_"


class _Rows:
    """The last ``keep`` rows of a (·, width) series, contiguous and oldest first, in a buffer of twice
    that which slides back when full (amortised O(width) per row)."""

    def __init__(self, keep: int, width: int) -> None:
        self.keep = max(int(keep), 1)
        self.buf = np.full((2 * self.keep, width), np.nan)
        self.size = 0  # rows held in buf
        self.count = 0  # rows ever pushed

    def push(self, row: np.ndarray) -> None:
        if self.size == self.buf.shape[0]:
            self.buf[: self.keep] = self.buf[self.size - self.keep : self.size]
            self.size = self.keep
        self.buf[self.size] = row
        self.size += 1
        self.count += 1

    def last(self, k: int) -> np.ndarray:
        """The newest ``k`` rows (k <= keep and <= count), oldest first."""
        return self.buf[self.size - k : self.size]

    def back(self, k: int) -> np.ndarray:
        """The row pushed ``k`` pushes before the newest."""
        return self.buf[self.size - 1 - k]

    def state(self, name: str) -> dict[str, np.ndarray]:
        held = min(self.size, self.keep)
        return {f"{name}.rows": self.buf[self.size - held : self.size].copy(),
                f"{name}.count": np.array(self.count, dtype=np.int64)}

    def load_state(self, d: Mapping[str, np.ndarray], name: str) -> None:
        self.load(d[f"{name}.rows"], int(d[f"{name}.count"]))

    def load(self, rows: np.ndarray, count: int) -> None:
        rows = np.asarray(rows, dtype=np.float64)[-self.keep :]
        if rows.ndim != 2 or rows.shape[1] != self.buf.shape[1]:
            raise ValueError("rolling rows of the wrong shape")
        self.buf[: len(rows)] = rows
        self.size, self.count = len(rows), int(count)


class _Sums:
    """Window sums of a series as ``_window_sums`` makes them: differences of one running sum."""

    def __init__(self, windows: Sequence[int], width: int) -> None:
        self.windows = np.array(sorted(set(int(w) for w in windows)), dtype=np.int64)
        self.pos = {int(w): i for i, w in enumerate(self.windows)}
        self.rows = _Rows(int(self.windows.max()) + 1 if len(self.windows) else 1, width)
        self.width = width

    def push(self, y: np.ndarray) -> None:
        self.rows.push(y.copy() if self.rows.count == 0 else self.rows.back(0) + y)

    def prime(self, series: np.ndarray) -> None:
        if len(series):
            self.rows.load(np.cumsum(series, axis=0)[-self.rows.keep :], len(series))

    def state(self, name: str) -> dict[str, np.ndarray]:
        return self.rows.state(name)

    def load_state(self, d: Mapping[str, np.ndarray], name: str) -> None:
        self.rows.load_state(d, name)

    def sums(self) -> np.ndarray:
        """(W, width): the sum of the last w values for each window w (NaN while fewer are known)."""
        out = np.full((len(self.windows), self.width), np.nan)
        j = self.rows.count - 1
        if j < 0:
            return out
        last = self.rows.back(0)
        out[self.windows == j + 1] = last
        full = self.windows <= j
        if full.any():
            out[full] = last - self.rows.buf[self.rows.size - 1 - self.windows[full]]
        return out


class _Variance:
    """Welford's rolling variance of one window length over a ``_Rows`` series (``rolling_std``)."""

    def __init__(self, w: int, width: int) -> None:
        self.w = int(w)
        self.mean, self.m2, self.var = np.zeros(width), np.zeros(width), np.full(width, np.nan)

    def update(self, rows: _Rows) -> None:
        t, w = rows.count - 1, self.w
        if t < w - 1:
            return
        restart = ind.var_restarts(t, w)
        window = rows.last(w if restart else w + 1)
        ind.rolling_var_step(window, w, restart, self.mean, self.m2, self.var)

    def prime(self, series: np.ndarray) -> None:
        n, w = len(series), self.w
        if n < w:
            return
        t = (w - 1) + ((n - 1) - (w - 1)) // w * w  # the last exact restart
        while t < n:
            restart = ind.var_restarts(t, w)
            window = np.array(series[t - w + 1 if restart else t - w : t + 1], dtype=np.float64)  # writable, as rows
            ind.rolling_var_step(window, w, restart, self.mean, self.m2, self.var)
            t += 1

    def std(self, rows: _Rows) -> np.ndarray:
        if rows.count < self.w:
            return np.full(self.var.shape, np.nan)
        window = rows.last(self.w)
        flat = window.max(axis=0) == window.min(axis=0)
        return np.where(flat, 0.0, np.sqrt(self.var))

    def state(self, name: str) -> dict[str, np.ndarray]:
        return {f"{name}.mean": self.mean.copy(), f"{name}.m2": self.m2.copy(), f"{name}.var": self.var.copy()}

    def load_state(self, d: Mapping[str, np.ndarray], name: str) -> None:
        self.mean, self.m2, self.var = (np.array(d[f"{name}.{k}"], dtype=np.float64) for k in ("mean", "m2", "var"))


class _Smoothed:
    """An average seeded with a simple mean and then carried: the EMA (``_ema_kernel``, seeded at row
    n-1 over rows 0..n-1) or Wilder's average (``_wilder_kernel``, seeded at row n over rows 1..n)."""

    def __init__(self, n: int, width: int, wilder: bool) -> None:
        self.n, self.wilder = int(n), wilder
        self.alpha = 2.0 / (n + 1.0)
        self.seed_row = self.n if wilder else self.n - 1
        self.acc, self.value = np.zeros(width), np.full(width, np.nan)

    def push(self, t: int, x: np.ndarray) -> None:
        first = 1 if self.wilder else 0
        if t < first:
            return
        if t <= self.seed_row:
            self.acc = self.acc + x
            if t == self.seed_row:
                self.value = self.acc / self.n
        elif self.wilder:
            self.value = (self.value * (self.n - 1) + x) / self.n
        else:
            self.value = self.value + self.alpha * (x - self.value)

    def prime(self, series: np.ndarray) -> None:
        if len(series) > self.seed_row:
            x = np.ascontiguousarray(series, dtype=np.float64)
            whole = ind._wilder_kernel(x, self.n) if self.wilder else ind._ema_kernel(x, self.n, self.alpha)
            self.value = whole[-1].copy()
        else:
            for t in range(len(series)):
                self.push(t, series[t])

    def state(self, name: str) -> dict[str, np.ndarray]:
        return {f"{name}.acc": self.acc.copy(), f"{name}.value": self.value.copy()}

    def load_state(self, d: Mapping[str, np.ndarray], name: str) -> None:
        self.acc = np.array(d[f"{name}.acc"], dtype=np.float64)
        self.value = np.array(d[f"{name}.value"], dtype=np.float64)


def _bits(shape: tuple, bits: list[tuple[np.ndarray, int]], valid_from: np.ndarray, t: int) -> np.ndarray:
    """One row of ``signals._codes`` for several genomes: (G, S) codes, zero where t < valid_from."""
    out = np.zeros(shape, dtype=np.int8)
    for mask, bit in bits:
        out[mask] |= bit
    out[valid_from > t] = 0
    return out


def _column(values: Sequence[float]) -> np.ndarray:
    return np.array(values, dtype=np.float64)[:, None]


class LiveSignals:
    """The signal codes of each distinct genome (``build_signals``' rows, in its order), one bar at a time."""

    def __init__(self, genomes: Sequence[Genome], n_symbols: int) -> None:
        seen: dict[tuple, int] = {}
        self.genomes: list[Genome] = []
        for genome in genomes:
            if genome.key() not in seen:
                seen[genome.key()] = len(self.genomes)
                self.genomes.append(genome)
        s = self.width = int(n_symbols)
        self.pairs = s // 2
        self.n = 0  # bars seen
        self.families: dict[str, list[int]] = {}
        for row, genome in enumerate(self.genomes):
            self.families.setdefault(genome.family, []).append(row)
        self.side = np.array([sg.side_mask(g.side) for g in self.genomes], dtype=np.int8)[:, None]
        need: dict[str, set[int]] = {k: set() for k in ("sma", "ema", "std", "cutler", "wilder", "band", "vwap", "pair")}
        for genome in self.genomes:
            p = genome.params
            if genome.family == "ma_crossover":
                need["ema" if p["ma"] == "ema" else "sma"].update((int(p["fast"]), int(p["slow"])))
            elif genome.family == "rsi_reversion":
                need["wilder" if str(p["smoothing"]) == "wilder" else "cutler"].add(int(p["n"]))
            elif genome.family == "bollinger_reversion":
                need["sma"].add(int(p["n"]))
                need["std"].add(int(p["n"]))
            elif genome.family == "donchian_breakout":
                need["band"].update((int(p["n"]), int(p["exit_n"])))
            elif genome.family == "vwap_scalper":
                need["vwap"].add(int(p["n"]))
            elif genome.family == "pairs_zscore" and self.pairs:
                need["pair"].add(int(p["n"]))
            elif genome.family != "pairs_zscore":
                raise ValueError(f"no bar-by-bar signals for the family {genome.family!r}")
        self.need = need
        self.close0, self.prev_close = np.full(s, np.nan), np.full(s, np.nan)
        self.typical0, self.spread0 = np.full(s, np.nan), np.full(self.pairs, np.nan)
        self.sma = _Sums(need["sma"], s) if need["sma"] else None
        self.ema = {n: _Smoothed(n, s, wilder=False) for n in sorted(need["ema"])}
        self.close_rows = _Rows(max(need["std"]) + 1, s) if need["std"] else None
        self.std = {n: _Variance(n, s) for n in sorted(need["std"])}
        cutler = need["cutler"]
        self.gain, self.loss, self.ups, self.downs = ((_Sums(cutler, s) for _ in range(4)) if cutler
                                                      else (None,) * 4)
        self.wilder = {n: (_Smoothed(n, s, wilder=True), _Smoothed(n, s, wilder=True)) for n in sorted(need["wilder"])}
        self.high_rows = _Rows(max(need["band"]) + 1, s) if need["band"] else None
        self.low_rows = _Rows(max(need["band"]) + 1, s) if need["band"] else None
        vwap = need["vwap"]
        self.volume, self.traded, self.typical = ((_Sums(vwap, s) for _ in range(3)) if vwap else (None,) * 3)
        pair = need["pair"]
        self.spread = _Sums(pair, self.pairs) if pair else None
        self.spread_rows = _Rows(max(pair) + 1, self.pairs) if pair else None
        self.spread_std = {n: _Variance(n, self.pairs) for n in sorted(pair)}
        ma = self.families.get("ma_crossover", [])
        self.ma_prev = np.full((len(ma), s), np.nan)

    # -- a new bar ---------------------------------------------------------------------------------------

    def update(self, bar: Mapping[str, np.ndarray]) -> np.ndarray:
        """Take bar ``n`` (open, high, low, close, volume, each (S,)); returns its codes (G, S) int8."""
        t = self.n
        high, low, close, volume = (np.asarray(bar[f], dtype=np.float64) for f in ("high", "low", "close", "volume"))
        if t == 0:
            self.close0 = close.copy()
        if self.sma is not None:
            self.sma.push(close - self.close0)
        for average in self.ema.values():
            average.push(t, close)
        if self.close_rows is not None:
            self.close_rows.push(close)
            for variance in self.std.values():
                variance.update(self.close_rows)
        if t >= 1 and (self.gain is not None or self.wilder):
            diff = close - self.prev_close
            gains, losses = np.maximum(diff, 0.0), np.maximum(-diff, 0.0)
            if self.gain is not None:
                self.gain.push(gains)
                self.loss.push(losses)
                self.ups.push((gains > 0).astype(np.float64))
                self.downs.push((losses > 0).astype(np.float64))
            for up, down in self.wilder.values():
                up.push(t, gains)
                down.push(t, losses)
        self.prev_close = close.copy()
        if self.high_rows is not None:
            self.high_rows.push(high)
            self.low_rows.push(low)
        if self.volume is not None:
            typical = (high + low + close) / 3.0
            if t == 0:
                self.typical0 = typical.copy()
            self.volume.push(volume)
            self.traded.push(typical * volume)
            self.typical.push(typical - self.typical0)
        if self.spread is not None:
            logc = np.log(close)
            spread = logc[0 : 2 * self.pairs : 2] - logc[1 : 2 * self.pairs : 2]
            if t == 0:
                self.spread0 = spread.copy()
            self.spread.push(spread - self.spread0)
            self.spread_rows.push(spread)
            for variance in self.spread_std.values():
                variance.update(self.spread_rows)
        self.n = t + 1
        return self._codes(t, close)

    def prime(self, market) -> None:
        """Set the state after every bar of ``market`` (whole-array, once), as if each had been updated."""
        if self.n:
            raise ValueError("only a fresh state can be primed")
        close, high, low, volume = market.close, market.high, market.low, market.volume
        n = self.n = market.n_bars
        if n == 0:
            return
        self.close0, self.prev_close = close[0].copy(), close[-1].copy()
        if self.sma is not None:
            self.sma.prime(close - close[:1])
        for average in self.ema.values():
            average.prime(close)
        if self.close_rows is not None:
            self.close_rows.load(close[-self.close_rows.keep :], n)
            for variance in self.std.values():
                variance.prime(close)
        if self.gain is not None or self.wilder:
            gains, losses = ind._gains_losses(close)
            if self.gain is not None:
                self.gain.prime(gains[1:])
                self.loss.prime(losses[1:])
                self.ups.prime((gains[1:] > 0).astype(np.float64))
                self.downs.prime((losses[1:] > 0).astype(np.float64))
            for up, down in self.wilder.values():
                up.prime(gains)
                down.prime(losses)
        if self.high_rows is not None:
            self.high_rows.load(high[-self.high_rows.keep :], n)
            self.low_rows.load(low[-self.low_rows.keep :], n)
        if self.volume is not None:
            typical = (high + low + close) / 3.0
            self.typical0 = typical[0].copy()
            self.volume.prime(volume)
            self.traded.prime(typical * volume)
            self.typical.prime(typical - typical[:1])
        if self.spread is not None:
            logc = np.log(close)
            spread = logc[:, 0 : 2 * self.pairs : 2] - logc[:, 1 : 2 * self.pairs : 2]
            self.spread0 = spread[0].copy()
            self.spread.prime(spread - spread[:1])
            self.spread_rows.load(spread[-self.spread_rows.keep :], n)
            for variance in self.spread_std.values():
                variance.prime(spread)
        self._codes(n - 1, close[-1])  # the crossover's previous difference

    # -- checkpoints -------------------------------------------------------------------------------------

    _ARRAYS = ("close0", "prev_close", "typical0", "spread0", "ma_prev")

    def _parts(self):
        single = ("sma", "close_rows", "gain", "loss", "ups", "downs", "high_rows", "low_rows", "volume",
                  "traded", "typical", "spread", "spread_rows")
        for name in single:
            if getattr(self, name) is not None:
                yield name, getattr(self, name)
        for n, average in self.ema.items():
            yield f"ema.{n}", average
        for n, variance in self.std.items():
            yield f"std.{n}", variance
        for n, (up, down) in self.wilder.items():
            yield f"wilder_up.{n}", up
            yield f"wilder_down.{n}", down
        for n, variance in self.spread_std.items():
            yield f"spread_std.{n}", variance

    def state(self) -> dict[str, np.ndarray]:
        """Everything ``update`` carries from bar to bar, as arrays named ``live_*``."""
        out = {"n": np.array(self.n, dtype=np.int64)} | {name: getattr(self, name).copy() for name in self._ARRAYS}
        for name, part in self._parts():
            out |= part.state(name)
        return {STATE_PREFIX + k: v for k, v in out.items()}

    def load(self, state: Mapping[str, np.ndarray]) -> None:
        """Restore ``state()`` (KeyError/ValueError if it is not this cohort's)."""
        d = {k[len(STATE_PREFIX):]: v for k, v in state.items() if k.startswith(STATE_PREFIX)}
        for name in self._ARRAYS:
            value = np.array(d[name], dtype=np.float64)
            if value.shape != getattr(self, name).shape:
                raise ValueError(f"live state {name} has shape {value.shape}, not {getattr(self, name).shape}")
            setattr(self, name, value)
        for name, part in self._parts():
            part.load_state(d, name)
        self.n = int(d["n"])

    # -- indicator values at the newest bar, one table per indicator (a row per window) -----------------

    def _plan(self) -> dict[str, dict[str, np.ndarray]]:
        """Per family: its genomes' rows, the table rows of their indicators, their parameters."""
        if hasattr(self, "_plans"):
            return self._plans
        sma = {int(w): i for i, w in enumerate(self.sma.windows)} if self.sma is not None else {}
        ema = {n: len(sma) + i for i, n in enumerate(self.ema)}
        cutler = self.gain.pos if self.gain is not None else {}
        wilder = {n: len(cutler) + i for i, n in enumerate(self.wilder)}
        std = {n: i for i, n in enumerate(self.std)}
        band = {int(w): i for i, w in enumerate(self.band_windows)}
        vwap = self.volume.pos if self.volume is not None else {}
        pair = {n: i for i, n in enumerate(self.spread_std)}

        def ints(params, f):
            return np.array([f(p) for p in params], dtype=np.int64)

        def ma_row(kind, n):
            return ema[n] if kind == "ema" else sma[n]

        plans = {}
        for name, rows in self.families.items():
            ps = [self.genomes[r].params for r in rows]
            plan: dict[str, np.ndarray] = {"rows": np.array(rows, dtype=np.int64)}
            if name == "ma_crossover":
                plan |= {"fast": ints(ps, lambda p: ma_row(p["ma"], int(p["fast"]))),
                         "slow": ints(ps, lambda p: ma_row(p["ma"], int(p["slow"]))),
                         "valid": ints(ps, lambda p: max(int(p["fast"]), int(p["slow"])))}
            elif name == "rsi_reversion":
                plan |= {"rsi": ints(ps, lambda p: (wilder if str(p["smoothing"]) == "wilder" else cutler)[int(p["n"])]),
                         "lower": _column([float(p["lower"]) for p in ps]),
                         "upper": _column([float(p["upper"]) for p in ps]), "valid": ints(ps, lambda p: int(p["n"]) + 1)}
            elif name == "bollinger_reversion":
                plan |= {"mid": ints(ps, lambda p: sma[int(p["n"])]), "std": ints(ps, lambda p: std[int(p["n"])]),
                         "k": _column([float(p["k"]) for p in ps]), "valid": ints(ps, lambda p: int(p["n"]))}
            elif name == "donchian_breakout":
                plan |= {"n": ints(ps, lambda p: band[int(p["n"])]), "m": ints(ps, lambda p: band[int(p["exit_n"])]),
                         "valid": ints(ps, lambda p: max(int(p["n"]), int(p["exit_n"])) + 1)}
            elif name == "vwap_scalper":
                plan |= {"vwap": ints(ps, lambda p: vwap[int(p["n"])]),
                         "band": _column([float(p["band_bps"]) / 1e4 for p in ps]), "valid": ints(ps, lambda p: int(p["n"]))}
            elif name == "pairs_zscore" and self.pairs:
                plan |= {"z": ints(ps, lambda p: pair[int(p["n"])]), "entry": _column([float(p["entry_z"]) for p in ps]),
                         "exit": _column([float(p["exit_z"]) for p in ps]), "valid": ints(ps, lambda p: int(p["n"]))}
            plans[name] = plan
        self._plans = plans
        return plans

    @property
    def band_windows(self) -> np.ndarray:
        return np.array(sorted(self.need["band"]), dtype=np.int64)

    def _averages(self) -> np.ndarray:
        """(sma windows + ema lengths, S): ``rolling_mean`` rows, then ``ema`` rows."""
        parts = []
        if self.sma is not None:
            parts.append(self.sma.sums() / self.sma.windows[:, None] + self.close0)
        parts += [average.value[None] for average in self.ema.values()]
        return np.concatenate(parts) if parts else np.zeros((0, self.width))

    def _rsi_table(self) -> np.ndarray:
        """(Cutler lengths + Wilder lengths, S): ``rsi_cutler`` rows, then ``rsi_wilder`` rows."""
        parts = []
        if self.gain is not None:
            n = self.gain.windows[:, None]
            avg_gain, avg_loss = self.gain.sums() / n, self.loss.sums() / n
            avg_gain[self.ups.sums() == 0] = 0.0
            avg_loss[self.downs.sums() == 0] = 0.0
            parts.append(ind._rsi_from(avg_gain, avg_loss))
        for up, down in self.wilder.values():
            parts.append(ind._rsi_from(up.value, down.value)[None])
        return np.concatenate(parts)

    @staticmethod
    def _stds(rows: _Rows, variances: dict[int, _Variance], width: int) -> np.ndarray:
        """(lengths, width): ``rolling_std`` rows (0 on flat windows: their max equals their min)."""
        out = np.full((len(variances), width), np.nan)
        k = min(rows.count, max(variances))
        if k < min(variances):
            return out
        recent = rows.last(k)[::-1]
        high, low = np.maximum.accumulate(recent, axis=0), np.minimum.accumulate(recent, axis=0)
        lengths = np.fromiter(variances, dtype=np.int64, count=len(variances))
        ok = lengths <= rows.count
        last = lengths[ok] - 1
        var = np.stack([v.var for v, use in zip(variances.values(), ok, strict=True) if use])
        out[ok] = np.where(high[last] == low[last], 0.0, np.sqrt(var))
        return out

    def _bands(self, high: bool) -> np.ndarray:
        """(band windows, S): ``highest_before`` (or ``lowest_before``) rows: the extreme of the w bars
        before the newest one."""
        rows, windows = (self.high_rows, self.band_windows) if high else (self.low_rows, self.band_windows)
        out = np.full((len(windows), self.width), np.nan)
        k = min(rows.count - 1, int(windows.max()))
        if k <= 0:
            return out
        before = rows.last(k + 1)[:-1][::-1]
        extreme = (np.maximum if high else np.minimum).accumulate(before, axis=0)
        ok = windows <= k
        out[ok] = extreme[windows[ok] - 1]
        return out

    def _codes(self, t: int, close: np.ndarray) -> np.ndarray:
        out = np.zeros((len(self.genomes), self.width), dtype=np.int8)
        for name, plan in self._plan().items():
            out[plan["rows"]] = getattr(self, f"_{name}")(t, close, plan)
        return out & self.side

    def _ma_crossover(self, t, close, plan):
        averages = self._averages()
        diff = averages[plan["fast"]] - averages[plan["slow"]]
        prev, self.ma_prev = self.ma_prev, diff
        up = (diff > 0) & (prev <= 0)
        down = (diff < 0) & (prev >= 0)
        bits = [(up, sg.ENTER_LONG | sg.EXIT_SHORT), (down, sg.EXIT_LONG | sg.ENTER_SHORT)]
        return _bits(diff.shape, bits, plan["valid"], t)

    def _rsi_reversion(self, t, close, plan):
        rsi = self._rsi_table()[plan["rsi"]]
        low, high = rsi < plan["lower"], rsi > plan["upper"]
        bits = [(low, sg.ENTER_LONG | sg.EXIT_SHORT), (high, sg.EXIT_LONG | sg.ENTER_SHORT)]
        return _bits(rsi.shape, bits, plan["valid"], t)

    def _bollinger_reversion(self, t, close, plan):
        mid = (self.sma.sums() / self.sma.windows[:, None] + self.close0)[plan["mid"]]
        std = self._stds(self.close_rows, self.std, self.width)[plan["std"]]
        k = plan["k"]
        bits = [(close < mid - k * std, sg.ENTER_LONG), (close > mid + k * std, sg.ENTER_SHORT),
                (close >= mid, sg.EXIT_LONG), (close <= mid, sg.EXIT_SHORT)]
        return _bits(mid.shape, bits, plan["valid"], t)

    def _donchian_breakout(self, t, close, plan):
        highs, lows = self._bands(True), self._bands(False)
        bits = [(close > highs[plan["n"]], sg.ENTER_LONG), (close < lows[plan["m"]], sg.EXIT_LONG),
                (close < lows[plan["n"]], sg.ENTER_SHORT), (close > highs[plan["m"]], sg.EXIT_SHORT)]
        return _bits((len(plan["rows"]), self.width), bits, plan["valid"], t)

    def _vwap_scalper(self, t, close, plan):
        weight, traded = self.volume.sums(), self.traded.sums()
        mean = self.typical.sums() / self.typical.windows[:, None] + self.typical0
        with np.errstate(invalid="ignore", divide="ignore"):
            table = np.where(weight > 0.0, traded / weight, mean)
        vwap, band = table[plan["vwap"]], plan["band"]
        bits = [(close < vwap * (1.0 - band), sg.ENTER_LONG), (close > vwap * (1.0 + band), sg.ENTER_SHORT),
                (close >= vwap, sg.EXIT_LONG), (close <= vwap, sg.EXIT_SHORT)]
        return _bits(vwap.shape, bits, plan["valid"], t)

    def _pairs_zscore(self, t, close, plan):
        out = np.zeros((len(plan["rows"]), self.width), dtype=np.int8)
        if self.pairs == 0:
            return out
        x = self.spread_rows.back(0)
        lengths = np.array(list(self.spread_std), dtype=np.int64)[:, None]
        sums = self.spread.sums()[[self.spread.pos[int(n)] for n in lengths[:, 0]]]
        mean = sums / lengths + self.spread0
        std = self._stds(self.spread_rows, self.spread_std, self.pairs)
        with np.errstate(invalid="ignore", divide="ignore"):
            score = (x - mean) / std
        z = np.where(std > 0.0, score, np.where(np.isnan(std), np.nan, 0.0))[plan["z"]]
        entry, exit_, valid = plan["entry"], plan["exit"], plan["valid"]
        flat = np.abs(z) < exit_
        first = _bits(z.shape, [(z < -entry, sg.ENTER_LONG), (z > entry, sg.ENTER_SHORT),
                                (flat, sg.EXIT_LONG | sg.EXIT_SHORT)], valid, t)
        second = _bits(z.shape, [(z > entry, sg.ENTER_LONG), (z < -entry, sg.ENTER_SHORT),
                                 (flat, sg.EXIT_LONG | sg.EXIT_SHORT)], valid, t)
        out[:, 0 : 2 * self.pairs : 2] = first
        out[:, 1 : 2 * self.pairs : 2] = second
        return out


def live_index(genomes: Sequence[Genome]) -> np.ndarray:
    """(A,) the row of each agent's genome among the distinct ones (as ``build_signals`` numbers them)."""
    rows: dict[tuple, int] = {}
    return np.array([rows.setdefault(g.key(), len(rows)) for g in genomes], dtype=np.int64)
