"""Tests of :mod:`together_billing.catalog` (rules G4, SL2, DE1)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from together_billing import (
    Catalog,
    ClusterBilling,
    ClusterPrice,
    FineTuningMethod,
    FineTuningPrice,
    HardwarePrice,
    InvalidArgument,
    InvalidScenario,
    ServerlessPrice,
    SizeTierPrice,
    Source,
    SourceKind,
    StoragePrice,
    UnknownPrice,
    default_catalog,
    instant,
)
from together_billing import catalog as catalog_module
from together_billing.catalog import (
    USER_SOURCE,
    CatalogDoc,
    entries_from_doc,
    load_data,
    read_document,
)

JAN = "2025-01-01T00:00:00Z"
MAR = "2025-03-01T00:00:00Z"


class TestEffectiveDates:
    def test_before_first_entry_is_unknown(self) -> None:
        """Looking up a price before its first entry takes effect raises UnknownPrice with the date."""
        catalog = Catalog([ServerlessPrice("m", "1", "2", MAR)])
        with pytest.raises(UnknownPrice, match="2025-03-01") as info:
            catalog.serverless("m", instant("2025-02-28T23:59:59Z"))
        assert isinstance(info.value, LookupError)

    def test_unknown_model_lists_known_ones(self) -> None:
        """An unknown model raises UnknownPrice naming the model and the catalog's models."""
        catalog = Catalog([ServerlessPrice("m", "1", "2", JAN)])
        with pytest.raises(UnknownPrice, match="'nope'") as info:
            catalog.serverless("nope", instant(MAR))
        assert "m" in info.value.expected

    def test_mid_period_change_applies_from_its_instant(self) -> None:
        """A later entry takes over exactly at its effective instant, not before."""
        change = "2025-03-15T12:00:00Z"
        catalog = Catalog([HardwarePrice("1x_g", "2", JAN), HardwarePrice("1x_g", "3", change)])
        assert catalog.hardware("1x_g", instant("2025-03-15T11:59:59.999999Z")).per_hour == 2
        assert catalog.hardware("1x_g", instant(change)).per_hour == 3
        assert catalog.hardware("1x_g", instant("2030-01-01T00:00:00Z")).per_hour == 3

    def test_entry_order_does_not_matter(self) -> None:
        """Catalogs built from the same entries in any order are equal."""
        a = HardwarePrice("1x_g", "2", JAN)
        b = HardwarePrice("1x_g", "3", MAR)
        assert Catalog([a, b]) == Catalog([b, a])
        assert Catalog([b, a]).entries == (a, b)

    def test_duplicate_key_and_instant_rejected(self) -> None:
        """Two entries for one key at one instant are ambiguous and rejected."""
        with pytest.raises(InvalidArgument) as info:
            Catalog([HardwarePrice("1x_g", "2", JAN), HardwarePrice("1x_g", "3", JAN)])
        assert info.value.field == "effective_from"

    def test_same_instant_different_keys_allowed(self) -> None:
        """Entries for different keys may share an instant."""
        assert len(Catalog([HardwarePrice("1x_a", "2", JAN), HardwarePrice("1x_b", "3", JAN)])) == 2

    def test_with_entries_replaces_same_key_and_instant(self) -> None:
        """with_entries overrides an entry with the same key and instant, keeping the original."""
        original = Catalog([HardwarePrice("1x_g", "2", JAN)])
        updated = original.with_entries(HardwarePrice("1x_g", "9", JAN))
        assert updated.hardware("1x_g", instant(MAR)).per_hour == 9
        assert original.hardware("1x_g", instant(MAR)).per_hour == 2


class TestEntries:
    @pytest.mark.parametrize(
        "build",
        [
            lambda: ServerlessPrice("m", "-1", "1", JAN),
            lambda: ServerlessPrice("m", 0.1, "1", JAN),
            lambda: ServerlessPrice("", "1", "1", JAN),
            lambda: ServerlessPrice("m", "1", "1", JAN, batch_discount="1.5"),
            lambda: ServerlessPrice("m", "1", "1", "2025-01-01T00:00:00"),
            lambda: HardwarePrice("1x_g", "-0.01", JAN),
            lambda: SizeTierPrice("t", "0", "1", "1", JAN),
        ],
    )
    def test_invalid_entries_rejected(self, build: object) -> None:
        """Negative or float rates, empty ids, bad discounts, naive dates and zero sizes raise."""
        with pytest.raises(InvalidArgument):
            build()  # type: ignore[operator]


class TestHardware:
    def test_nx_configuration_derived_from_1x(self) -> None:
        """W4: a 4x configuration without its own entry costs 4 x the 1x rate, at every date."""
        catalog = Catalog([HardwarePrice("1x_g", "3.99", JAN), HardwarePrice("1x_g", "5.49", MAR)])
        early = catalog.hardware("4x_g", instant("2025-02-01T00:00:00Z"))
        late = catalog.hardware("4x_g", instant("2025-04-01T00:00:00Z"))
        assert (early.per_hour, early.gpu_count) == (Decimal("15.96"), 4)
        assert late.per_hour == Decimal("21.96")
        assert late.hardware == "4x_g"

    def test_own_nx_entry_wins_over_derivation(self) -> None:
        """An explicit Nx entry is used as given, not derived."""
        catalog = Catalog([HardwarePrice("1x_g", "4", JAN), HardwarePrice("2x_g", "7", JAN)])
        assert catalog.hardware("2x_g", instant(MAR)).per_hour == 7

    def test_nx_without_base_is_unknown(self) -> None:
        """An Nx configuration with no 1x base entry raises UnknownPrice."""
        catalog = Catalog([HardwarePrice("1x_g", "4", JAN)])
        with pytest.raises(UnknownPrice):
            catalog.hardware("2x_other", instant(MAR))

    @pytest.mark.parametrize(
        ("cents", "per_hour"), [("10.82", Decimal("6.492")), ("6.0", Decimal("3.60"))]
    )
    def test_from_cents_per_minute(self, cents: str, per_hour: Decimal) -> None:
        """W8/W9: cents per minute x 60 / 100 is dollars per hour (10.82 -> 6.492, 6.0 -> 3.60)."""
        price = HardwarePrice.from_cents_per_minute("1x_g", cents, JAN)
        assert price.per_hour == per_hour


class TestSizeTiers:
    def _catalog(self) -> Catalog:
        return Catalog(
            [
                ServerlessPrice("known", "5", "5", JAN),
                SizeTierPrice("small", "8", "0.10", "0.20", JAN),
                SizeTierPrice("large", "80", "0.90", "0.95", JAN),
            ]
        )

    @pytest.mark.parametrize(
        ("params_b", "tier", "rate"),
        [
            ("1", "small", "0.10"),
            ("8", "small", "0.10"),
            ("8.1", "large", "0.90"),
            ("80", "large", "0.90"),
        ],
    )
    def test_fallback_by_size(self, params_b: str, tier: str, rate: str) -> None:
        """SL2: a model without an entry is priced by the smallest tier covering its size."""
        price = self._catalog().serverless("unknown", instant(MAR), params_b=Decimal(params_b))
        assert price.tier == tier
        assert price.input == Decimal(rate)
        assert price.model == "unknown"

    def test_model_entry_beats_tier(self) -> None:
        """SL2: a model with its own entry uses it even when its size is known."""
        price = self._catalog().serverless("known", instant(MAR), params_b=Decimal(1))
        assert (price.input, price.tier) == (Decimal(5), None)

    def test_too_large_for_any_tier(self) -> None:
        """A model larger than the largest tier raises UnknownPrice naming params_b."""
        with pytest.raises(UnknownPrice) as info:
            self._catalog().serverless("unknown", instant(MAR), params_b=Decimal(81))
        assert info.value.field == "params_b"

    def test_without_size_no_fallback(self) -> None:
        """Without params_b, an unknown model is not priced by tier."""
        with pytest.raises(UnknownPrice):
            self._catalog().serverless("unknown", instant(MAR))


class TestFineTuning:
    def test_bracket_lookup(self) -> None:
        """FT1: the rate is the smallest bracket covering the model's size, per method and LoRA."""
        catalog = Catalog(
            [
                FineTuningPrice("16", "sft", lora=True, per_1m_tokens="0.48", effective_from=JAN),
                FineTuningPrice("70", "sft", lora=True, per_1m_tokens="1.50", effective_from=JAN),
                FineTuningPrice("16", "sft", lora=False, per_1m_tokens="0.54", effective_from=JAN),
            ]
        )
        at = instant(MAR)

        def rate(params_b: int, *, lora: bool = True) -> Decimal:
            price = catalog.fine_tuning(Decimal(params_b), FineTuningMethod.SFT, lora=lora, at=at)
            return price.per_1m_tokens

        assert rate(8) == Decimal("0.48")
        assert rate(16) == Decimal("0.48")
        assert rate(17) == Decimal("1.50")
        assert rate(8, lora=False) == Decimal("0.54")
        with pytest.raises(UnknownPrice):
            catalog.fine_tuning(Decimal(8), FineTuningMethod.DPO, lora=True, at=at)
        with pytest.raises(UnknownPrice):
            catalog.fine_tuning(Decimal(71), FineTuningMethod.SFT, lora=True, at=at)


class TestFiles:
    def test_yaml_floats_are_exact_decimals(self, tmp_path: object) -> None:
        """A YAML catalog's fractional numbers load as exact Decimals, never floats."""
        path = tmp_path / "catalog.yaml"  # type: ignore[operator]
        path.write_text(
            "sources:\n"
            "  mine: {url: https://example.com/prices, date: '2025-10-01', kind: user}\n"
            "serverless:\n"
            "  - {model: m, input: 0.1, output: 0.30000000000000004, cached_input: 0.06,"
            " effective_from: '2025-11-01T00:00:00Z', source: mine}\n"
            "hardware:\n"
            "  - {hardware: 1x_g, cents_per_minute: 10.82, effective_from: '2025-11-01T00:00:00Z'}\n",
            encoding="utf-8",
        )
        catalog = Catalog.from_file(path)
        price = catalog.serverless("m", instant("2025-11-02T00:00:00Z"))
        assert type(price.input) is Decimal
        assert price.input == Decimal("0.1")
        assert price.output == Decimal("0.30000000000000004")
        assert price.cached_input == Decimal("0.06")
        assert price.source.url == "https://example.com/prices"
        assert price.source.kind is SourceKind.USER
        assert catalog.hardware("1x_g", instant("2025-11-02T00:00:00Z")).per_hour == Decimal(
            "6.492"
        )

    def test_invalid_file_reports_location(self, tmp_path: object) -> None:
        """A catalog file with an unknown field raises InvalidScenario naming where."""
        path = tmp_path / "bad.yaml"  # type: ignore[operator]
        path.write_text(
            "serverless:\n  - {model: m, input: 1, output: 1, colour: red,"
            " effective_from: '2025-11-01T00:00:00Z'}\n",
            encoding="utf-8",
        )
        with pytest.raises(InvalidScenario) as info:
            Catalog.from_file(path)
        assert any("colour" in location for location, _ in info.value.errors)

    def test_naive_effective_from_in_file_rejected(self, tmp_path: object) -> None:
        """A catalog file with a naive effective_from is rejected."""
        path = tmp_path / "naive.yaml"  # type: ignore[operator]
        path.write_text(
            "hardware:\n  - {hardware: 1x_g, per_hour: 1, effective_from: '2025-11-01T00:00:00'}\n",
            encoding="utf-8",
        )
        with pytest.raises(InvalidScenario):
            Catalog.from_file(path)


class TestDefaultCatalog:
    def test_every_entry_has_a_source_url(self) -> None:
        """Every default catalog entry carries an http(s) source URL."""
        entries = default_catalog().entries
        assert entries
        for entry in entries:
            assert entry.source.url.startswith("https://"), entry

    def test_estimates_and_third_party_entries_are_marked(self) -> None:
        """Fine-tuning rates (estimates) and size tiers (third-party) are not marked official."""
        entries = default_catalog().entries
        fine_tuning = [e for e in entries if isinstance(e, FineTuningPrice)]
        tiers = [e for e in entries if isinstance(e, SizeTierPrice)]
        assert fine_tuning
        assert tiers
        assert all(not e.source.official for e in fine_tuning + tiers)
        assert {e.source.kind for e in fine_tuning} == {SourceKind.ESTIMATE}
        assert {e.source.kind for e in tiers} == {SourceKind.THIRD_PARTY}

    def test_together_entries_are_official(self) -> None:
        """Serverless and hardware entries come from Together's own material."""
        entries = default_catalog().entries
        for entry in entries:
            if isinstance(entry, (ServerlessPrice, HardwarePrice)):
                assert entry.source.official, entry

    def test_known_figures(self) -> None:
        """The default catalog holds the documented MiniMax M2.5 and H100 figures (W18, W4)."""
        catalog = default_catalog()
        price = catalog.serverless("MiniMaxAI/MiniMax-M2.5", instant("2026-01-01T00:00:00Z"))
        assert (price.input, price.cached_input, price.output) == (
            Decimal("0.30"),
            Decimal("0.06"),
            Decimal("1.20"),
        )
        h100 = "nvidia_h100_80gb_sxm"
        at = instant("2025-12-01T00:00:00Z")
        assert (
            catalog.hardware(f"4x_{h100}", at).per_hour
            == 4 * catalog.hardware(f"1x_{h100}", at).per_hour
        )


def test_equal_brackets_written_differently_are_one_key() -> None:
    """FineTuningPrice brackets 16 and 16.0 are the same bracket: the later entry takes over."""
    catalog = Catalog(
        [
            FineTuningPrice("16", "sft", lora=True, per_1m_tokens="1", effective_from=JAN),
            FineTuningPrice("16.0", "sft", lora=True, per_1m_tokens="2", effective_from=MAR),
        ]
    )
    price = catalog.fine_tuning(
        Decimal(8), FineTuningMethod.SFT, lora=True, at=instant("2025-04-01T00:00:00Z")
    )
    assert price.per_1m_tokens == 2


def test_listed_model_before_its_first_price_does_not_fall_back_to_a_tier() -> None:
    """SL2: a model with catalog entries is never priced by size tier before its first entry."""
    catalog = Catalog(
        [
            ServerlessPrice("m", "1", "1", "2025-06-01T00:00:00Z"),
            SizeTierPrice("small", "8", "0.2", "0.2", "2025-01-01T00:00:00Z"),
        ]
    )
    with pytest.raises(UnknownPrice, match="2025-06-01"):
        catalog.serverless("m", instant("2025-03-01T00:00:00Z"), params_b=Decimal(7))
    unlisted = catalog.serverless("other", instant("2025-03-01T00:00:00Z"), params_b=Decimal(7))
    assert unlisted.tier == "small"


class TestHardwareSpellings:
    """v1 ids (1x_nvidia_h100_80gb_sxm) and v2 ids (1xnvidia-h100-80gb) name one entry."""

    def test_v2_spelling_finds_the_v1_entry(self) -> None:
        at = instant("2025-12-01T00:00:00Z")
        catalog = default_catalog()
        v1 = catalog.hardware("1x_nvidia_h100_80gb_sxm", at)
        v2 = catalog.hardware("1xnvidia-h100-80gb", at)
        assert v1 is v2

    def test_multi_gpu_v2_spelling_is_derived_in_the_asked_spelling(self) -> None:
        """DE1/W4: 8xnvidia-h100-80gb with no entry of its own is 8 x the 1x rate."""
        at = instant("2025-12-01T00:00:00Z")
        price = default_catalog().hardware("8xnvidia-h100-80gb", at)
        assert price.per_hour == 8 * Decimal("3.99")
        assert (price.hardware, price.gpu_count) == ("8xnvidia-h100-80gb", 8)

    def test_both_spellings_at_one_instant_are_one_key(self) -> None:
        with pytest.raises(InvalidArgument, match="one entry per key"):
            Catalog([HardwarePrice("1x_a_b_sxm", 1, JAN), HardwarePrice("1xa-b", 2, JAN)])

    def test_other_interconnects_stay_apart(self) -> None:
        from together_billing.catalog import hardware_key

        assert hardware_key("1x_nvidia_a100_80gb_pcie") != hardware_key("1xnvidia-a100-80gb")
        assert hardware_key(" 2X_Nvidia_H100_80GB_SXM ") == "2x-nvidia-h100-80gb"

    def test_unknown_hardware_lists_the_catalog_spellings(self) -> None:
        with pytest.raises(UnknownPrice, match="1x_nvidia_h100_80gb_sxm"):
            default_catalog().hardware("1xnvidia-x999", instant("2025-12-01T00:00:00Z"))


def test_bundled_catalog_is_one_snapshot() -> None:
    """Item 7: one price per item in the bundled catalog, no effective-dated page noise."""
    entries = default_catalog().entries
    keys = [entry.key for entry in entries]
    assert len(keys) == len(set(keys))


# -- Details pinned down by mutation testing (docs/mutation.md): entries, keys, lookups, files (G4) --
LATER = instant("2025-06-01T00:00:00Z")
DOC = Source("https://example.com/doc", "2025-10-01", SourceKind.TOGETHER, "a note")


class TestSource:
    @pytest.mark.parametrize(
        ("kind", "official"),
        [
            (SourceKind.TOGETHER, True),
            (SourceKind.USER, True),
            (SourceKind.THIRD_PARTY, False),
            (SourceKind.ESTIMATE, False),
        ],
    )
    def test_official_kinds(self, kind: SourceKind, official: bool) -> None:
        """Only Together's own material and user-supplied prices are official."""
        assert Source("https://x", None, kind).official is official

    def test_describe_official_and_dated(self) -> None:
        """An official source is described by its URL and date, with no flag."""
        assert DOC.describe() == "https://example.com/doc (2025-10-01)"

    @pytest.mark.parametrize(
        ("kind", "flag"), [("third-party", " [third-party]"), ("estimate", " [estimate]")]
    )
    def test_describe_flags_unofficial_and_undated(self, kind: str, flag: str) -> None:
        """An unofficial source is flagged with its kind; a missing date reads ``undated``."""
        assert Source("https://x", None, kind).describe() == f"https://x (undated){flag}"

    def test_defaults_and_unknown_kind(self) -> None:
        """A source is Together's, undated and without a note unless told; kinds are checked."""
        source = Source("https://x")
        assert (source.date, source.kind, source.note) == (None, SourceKind.TOGETHER, "")
        assert USER_SOURCE.kind is SourceKind.USER
        assert USER_SOURCE.url == "user-supplied"
        with pytest.raises(InvalidArgument) as info:
            Source("https://x", None, "blog")
        assert info.value.field == "kind"


#: Every rate field, with a builder of an entry that has ``value`` as that rate.
RATES = pytest.mark.parametrize(
    ("field", "build"),
    [
        ("input", lambda v: ServerlessPrice("m", v, "1", JAN)),
        ("output", lambda v: ServerlessPrice("m", "1", v, JAN)),
        ("per_hour", lambda v: HardwarePrice("1x_g", v, JAN)),
        ("per_1m_tokens", lambda v: FineTuningPrice("16", "sft", True, v, JAN)),
        ("per_gpu_hour", lambda v: ClusterPrice("h100", "reserved", v, JAN)),
        ("per_tib_hour", lambda v: StoragePrice("on-demand", v, JAN)),
        ("input", lambda v: SizeTierPrice("t", "8", v, "1", JAN)),
        ("output", lambda v: SizeTierPrice("t", "8", "1", v, JAN)),
    ],
)


class TestEntryValidation:
    @RATES
    def test_zero_rate_is_allowed(self, field: str, build: Callable[[object], object]) -> None:
        """A rate may be zero (a free model or configuration)."""
        assert getattr(build("0"), field) == 0

    @RATES
    def test_negative_rate_is_refused_naming_the_rate(
        self, field: str, build: Callable[[object], object]
    ) -> None:
        """A negative rate is refused under its own field name, with the value given."""
        with pytest.raises(InvalidArgument) as info:
            build("-0.01")
        assert info.value.field == field
        assert info.value.value == "-0.01"
        assert info.value.expected == "a rate of zero or more"

    @RATES
    def test_float_rate_is_refused_naming_the_rate(
        self, field: str, build: Callable[[object], object]
    ) -> None:
        """A float rate is refused under its own field name."""
        with pytest.raises(InvalidArgument) as info:
            build(0.5)
        assert info.value.field == field
        assert info.value.value == 0.5

    @pytest.mark.parametrize(
        "build",
        [
            lambda at: ServerlessPrice("m", "1", "1", at),
            lambda at: SizeTierPrice("t", "8", "1", "1", at),
            lambda at: HardwarePrice("1x_g", "1", at),
            lambda at: FineTuningPrice("16", "sft", True, "1", at),
            lambda at: ClusterPrice("h100", "reserved", "1", at),
            lambda at: StoragePrice("on-demand", "1", at),
        ],
    )
    def test_effective_from_is_an_aware_instant(self, build: Callable[[object], object]) -> None:
        """Every entry's ``effective_from`` is read as an instant and named in its errors."""
        assert build("2025-01-01T01:00:00+01:00").effective_from == instant(JAN)  # type: ignore[attr-defined]
        with pytest.raises(InvalidArgument) as info:
            build("soon")
        assert info.value.field == "effective_from"
        assert info.value.value == "soon"

    @pytest.mark.parametrize(("value", "expected"), [(None, None), ("0", 0), ("0.06", "0.06")])
    def test_cached_input_is_a_rate_or_none(self, value: object, expected: object) -> None:
        """The cached-input rate is optional, and may be zero."""
        price = ServerlessPrice("m", "1", "1", JAN, cached_input=value)
        assert price.cached_input == (None if expected is None else Decimal(expected))

    @pytest.mark.parametrize(
        ("value", "expected"),
        [("-0.01", "a rate of zero or more, or None"), (0.5, None), ("x", None)],
    )
    def test_bad_cached_input_is_refused(self, value: object, expected: str | None) -> None:
        """A negative, float or malformed cached-input rate is refused as ``cached_input``."""
        with pytest.raises(InvalidArgument) as info:
            ServerlessPrice("m", "1", "1", JAN, cached_input=value)
        assert info.value.field == "cached_input"
        assert info.value.value == value
        if expected is not None:
            assert info.value.expected == expected

    @pytest.mark.parametrize("value", [0, "0.5", 1, "1.0"])
    def test_batch_discount_from_zero_to_one(self, value: object) -> None:
        """A batch discount is a fraction from 0 to 1, both ends included."""
        assert ServerlessPrice("m", "1", "1", JAN, batch_discount=value).batch_discount == Decimal(
            value
        )
        assert SizeTierPrice("t", "8", "1", "1", JAN, batch_discount=value).batch_discount == (
            Decimal(value)
        )

    @pytest.mark.parametrize("value", ["-0.01", "1.01", 0.5])
    def test_batch_discount_outside_zero_to_one_is_refused(self, value: object) -> None:
        """A discount below 0, above 1 or as a float is refused as ``batch_discount``."""
        with pytest.raises(InvalidArgument) as info:
            ServerlessPrice("m", "1", "1", JAN, batch_discount=value)
        assert info.value.field == "batch_discount"
        assert info.value.value == value
        if not isinstance(value, float):
            assert info.value.expected == "a fraction from 0 to 1 (0.5 is 50% off)"

    @pytest.mark.parametrize(
        ("field", "build"),
        [
            ("model", lambda v: ServerlessPrice(v, "1", "1", JAN)),
            ("tier", lambda v: SizeTierPrice(v, "8", "1", "1", JAN)),
            ("hardware", lambda v: HardwarePrice(v, "1", JAN)),
            ("gpu_type", lambda v: ClusterPrice(v, "reserved", "1", JAN)),
        ],
    )
    @pytest.mark.parametrize("value", ["", "   ", None, 7])
    def test_ids_must_be_non_empty_strings(
        self, field: str, build: Callable[[object], object], value: object
    ) -> None:
        """Model, tier, hardware and GPU type ids are non-empty strings, named in the error."""
        with pytest.raises(InvalidArgument) as info:
            build(value)
        assert info.value.field == field
        assert info.value.value == value
        assert info.value.expected == "a non-empty string"

    @pytest.mark.parametrize(
        "build",
        [
            lambda v: SizeTierPrice("t", v, "1", "1", JAN),
            lambda v: FineTuningPrice(v, "sft", True, "1", JAN),
        ],
    )
    @pytest.mark.parametrize("value", ["0", "-1"])
    def test_sizes_must_be_positive(self, build: Callable[[object], object], value: str) -> None:
        """A size bracket of zero or fewer billions of parameters is refused."""
        with pytest.raises(InvalidArgument) as info:
            build(value)
        assert info.value.field == "max_params_b"
        assert info.value.value == value
        assert info.value.expected == "a positive number of billions of parameters"

    def test_smallest_positive_size_and_float_size(self) -> None:
        """Any positive size is a bracket; a float size is refused as ``max_params_b``."""
        assert SizeTierPrice("t", "0.001", "1", "1", JAN).max_params_b == Decimal("0.001")
        with pytest.raises(InvalidArgument) as info:
            SizeTierPrice("t", 8.0, "1", "1", JAN)
        assert info.value.field == "max_params_b"

    def test_unknown_method_and_billing(self) -> None:
        """A fine-tuning method and a cluster billing are checked choices."""
        with pytest.raises(InvalidArgument) as info:
            FineTuningPrice("16", "rlhf", True, "1", JAN)
        assert info.value.field == "method"
        with pytest.raises(InvalidArgument) as info:
            ClusterPrice("h100", "spot", "1", JAN)
        assert info.value.field == "billing"


class TestKeys:
    def test_every_kind_of_entry_has_its_key(self) -> None:
        """Each entry's key names its kind and what it prices."""
        assert ServerlessPrice("m", "1", "1", JAN).key == ("serverless", "m")
        assert SizeTierPrice("small", "8", "1", "1", JAN).key == ("size-tier", "small")
        assert HardwarePrice("1x_g", "1", JAN).key == ("hardware", "1x_g")
        assert FineTuningPrice("16.0", "dpo", False, "1", JAN).key == (
            "fine-tuning",
            "16",
            "dpo",
            "False",
        )
        assert FineTuningPrice("0.50", "sft", True, "1", JAN).key == (
            "fine-tuning",
            "0.5",
            "sft",
            "True",
        )
        assert FineTuningPrice("1E+2", "sft", True, "1", JAN).key[1] == "100"
        assert ClusterPrice("h100", "on-demand", "1", JAN).key == ("cluster", "h100", "on-demand")
        assert StoragePrice("reserved", "1", JAN).key == ("storage", "reserved")

    def test_from_cents_per_minute_keeps_every_field(self) -> None:
        """The cents-per-minute constructor passes the id, instant, source and GPU count on."""
        price = HardwarePrice.from_cents_per_minute("8x_g", "12.5", MAR, DOC, 8)
        assert price == HardwarePrice("8x_g", "7.5", MAR, DOC, 8)
        default = HardwarePrice.from_cents_per_minute("1x_g", 10, JAN)
        assert (default.per_hour, default.source, default.gpu_count) == (6, USER_SOURCE, 1)

    def test_from_cents_per_minute_refuses_floats(self) -> None:
        """A float cents-per-minute figure is refused under its own name."""
        with pytest.raises(InvalidArgument) as info:
            HardwarePrice.from_cents_per_minute("1x_g", 10.82, JAN)  # type: ignore[arg-type]
        assert info.value.field == "cents_per_minute"
        assert info.value.value == 10.82


class TestCatalogValue:
    def test_duplicate_error_details(self) -> None:
        """Two entries for one key and instant are refused, naming the instant and the key."""
        with pytest.raises(InvalidArgument) as info:
            Catalog([ServerlessPrice("m", "1", "1", MAR), ServerlessPrice("m", "2", "2", MAR)])
        assert info.value.field == "effective_from"
        assert info.value.value == "2025-03-01T00:00:00+00:00"
        assert info.value.expected == "one entry per key and instant; ('serverless', 'm') has two"

    def test_entries_sorted_by_key_then_instant(self) -> None:
        """Entries are kept sorted by key, then by effective instant."""
        late_a = HardwarePrice("1x_a", "2", MAR)
        early_a = HardwarePrice("1x_a", "1", JAN)
        late_b = HardwarePrice("1x_b", "3", MAR)
        model = ServerlessPrice("m", "1", "1", MAR)
        catalog = Catalog([model, late_b, late_a, early_a])
        assert catalog.entries == (early_a, late_a, late_b, model)
        assert len(catalog) == 4
        assert Catalog().entries == ()
        assert len(Catalog()) == 0

    def test_repr_equality_and_hash(self) -> None:
        """A catalog shows its size, equals a catalog of the same entries and hashes alike."""
        entries = [HardwarePrice("1x_a", "2", JAN), HardwarePrice("1x_a", "3", MAR)]
        catalog = Catalog(entries)
        assert repr(catalog) == "Catalog(<2 entries>)"
        assert catalog == Catalog(reversed(entries))
        assert hash(catalog) == hash(Catalog(reversed(entries)))
        assert catalog != Catalog(entries[:1])
        assert catalog != entries
        assert catalog != tuple(entries)
        assert (catalog == catalog.entries) is False

    def test_deepcopy_is_the_same_catalog(self) -> None:
        """A catalog is immutable: deep copies (as in scenario objects) share it."""
        catalog = Catalog([HardwarePrice("1x_a", "2", JAN)])
        assert copy.deepcopy(catalog) is catalog
        assert copy.deepcopy({"c": catalog})["c"] is catalog

    def test_with_entries_adds_and_replaces_only_same_key_and_instant(self) -> None:
        """with_entries adds new entries and replaces only those with the same key and instant."""
        a_jan = HardwarePrice("1x_a", "1", JAN)
        a_mar = HardwarePrice("1x_a", "2", MAR)
        b_jan = HardwarePrice("1x_b", "3", JAN)
        catalog = Catalog([a_jan, a_mar, b_jan])
        new_a_mar = HardwarePrice("1x_a", "9", MAR)
        c_jan = HardwarePrice("1x_c", "4", JAN)
        updated = catalog.with_entries(new_a_mar, c_jan)
        assert updated.entries == (a_jan, new_a_mar, b_jan, c_jan)
        assert catalog.entries == (a_jan, a_mar, b_jan)
        assert catalog.with_entries() == catalog


class TestLookups:
    def test_at_is_in_force_from_the_effective_instant(self) -> None:
        """at() gives the entry in force at a microsecond: none before the first entry."""
        first = HardwarePrice("1x_a", "1", JAN)
        second = HardwarePrice("1x_a", "2", MAR)
        catalog = Catalog([first, second])
        jan = first.effective_from.int_timestamp * 1_000_000
        mar = second.effective_from.int_timestamp * 1_000_000
        assert catalog.at(("hardware", "1x_a"), jan - 1) is None
        assert catalog.at(("hardware", "1x_a"), jan) is first
        assert catalog.at(("hardware", "1x_a"), mar - 1) is first
        assert catalog.at(("hardware", "1x_a"), mar) is second
        assert catalog.at(("hardware", "nope"), mar) is None
        assert catalog.history(("hardware", "1x_a")) == ([jan, mar], [first, second])

    def test_history_of_unknown_keys_is_empty(self) -> None:
        """An unknown key has no history; only hardware ids are derived from a 1x entry."""
        catalog = Catalog([HardwarePrice("1x_g", "1", JAN), ServerlessPrice("1x_g", "1", "1", JAN)])
        assert catalog.history(("serverless", "2x_g")) == ((), ())
        assert catalog.history(("hardware", "1x_h")) == ((), ())
        assert catalog.history(("hardware", "2x_h")) == ((), ())
        assert catalog.history(("hardware", "g")) == ((), ())
        assert catalog.at(("serverless", "2x_g"), 0) is None

    @pytest.mark.parametrize(
        ("base", "wanted", "count"),
        [
            ("1x_g", "2x_g", 2),
            ("1x-g", "8x-g", 8),
            ("1xg", "3xg", 3),
            ("1x_g", "10x_g", 10),
            ("1x_g_80gb", "4x_g_80gb", 4),
            ("1x_1", "2x_1", 2),
        ],
    )
    def test_nx_derivation_keeps_the_separator(self, base: str, wanted: str, count: int) -> None:
        """``Nx_<gpu>`` is N times ``1x_<gpu>``, with the same separator (``_``, ``-`` or none)."""
        catalog = Catalog([HardwarePrice(base, "1.5", JAN, DOC, gpu_count=2)])
        price = catalog.hardware(wanted, LATER)
        assert price.hardware == wanted
        assert price.per_hour == Decimal("1.5") * count
        assert price.gpu_count == 2 * count
        assert price.source == DOC
        assert price.effective_from == instant(JAN)

    @pytest.mark.parametrize(
        ("base", "wanted"), [("1x_g", "2x-g"), ("1x-g", "2x_g"), ("1x_g", "2xg")]
    )
    def test_nx_in_any_spelling_comes_from_the_base_entry(self, base: str, wanted: str) -> None:
        """v1 (``_``) and v2 (``-`` or none) spellings derive from one base entry (issue 13)."""
        catalog = Catalog([HardwarePrice(base, "1", JAN)])
        price = catalog.hardware(wanted, LATER)
        assert (price.hardware, price.per_hour) == (wanted, 2)

    def test_derived_history_follows_every_base_entry(self) -> None:
        """A derived configuration has one entry per base entry, at the same instants."""
        catalog = Catalog([HardwarePrice("1x_g", "1", JAN), HardwarePrice("1x_g", "2", MAR)])
        instants, items = catalog.history(("hardware", "4x_g"))
        assert list(instants) == list(catalog.history(("hardware", "1x_g"))[0])
        assert [i.per_hour for i in items] == [4, 8]  # type: ignore[union-attr]
        assert catalog.history(("hardware", "4x_g")) == (instants, items)
        assert catalog.hardware("4x_g", instant("2025-02-01T00:00:00Z")).per_hour == 4

    def test_1x_without_entry_is_not_derived(self) -> None:
        """A missing ``1x`` entry is unknown: it is never derived from itself."""
        catalog = Catalog([HardwarePrice("2x_g", "2", JAN)])
        with pytest.raises(UnknownPrice) as info:
            catalog.hardware("1x_g", LATER)
        assert info.value.field == "hardware"
        assert info.value.value == "1x_g"


class TestUnknownPriceDetails:
    def test_before_the_first_entry(self) -> None:
        """Asking before the first entry names the instant asked and the first instant."""
        catalog = Catalog([HardwarePrice("1x_g", "1", MAR)])
        with pytest.raises(UnknownPrice) as info:
            catalog.hardware("1x_g", instant("2025-02-01T00:00:00+01:00"))
        assert info.value.field == "hardware at"
        assert info.value.value == "2025-01-31T23:00:00+00:00"
        assert info.value.expected == "an instant at or after 2025-03-01T00:00:00+00:00"

    def test_unknown_id_lists_the_known_ones_of_its_kind(self) -> None:
        """An unknown id lists the known ids of the same kind, sorted."""
        catalog = Catalog(
            [
                HardwarePrice("1x_b", "1", JAN),
                HardwarePrice("1x_a", "1", JAN),
                HardwarePrice("1x_a", "2", MAR),
                ServerlessPrice("model", "1", "1", JAN),
            ]
        )
        with pytest.raises(UnknownPrice) as info:
            catalog.hardware("1x_z", LATER)
        assert info.value.field == "hardware"
        assert info.value.value == "1x_z"
        assert info.value.expected == "one in the catalog (1x_a, 1x_b) or a price entry for it"

    @pytest.mark.parametrize(("count", "tail"), [(12, ""), (13, ", ...")])
    def test_long_lists_are_cut_after_twelve(self, count: int, tail: str) -> None:
        """At most twelve known ids are shown, then an ellipsis."""
        catalog = Catalog([ServerlessPrice(f"m{i:02d}", "1", "1", JAN) for i in range(count)])
        with pytest.raises(UnknownPrice) as info:
            catalog.serverless("zz", LATER)
        shown = ", ".join(f"m{i:02d}" for i in range(12))
        assert info.value.field == "model"
        assert info.value.expected == f"one in the catalog ({shown}{tail}) or a price entry for it"

    def test_cluster_and_storage_errors(self) -> None:
        """Cluster and storage lookups name the billing in their errors."""
        catalog = Catalog(
            [ClusterPrice("h100", "reserved", "2", MAR), StoragePrice("on-demand", "0.1", MAR)]
        )
        with pytest.raises(UnknownPrice) as info:
            catalog.cluster("h100", ClusterBilling.ON_DEMAND, LATER)
        assert info.value.field == "on-demand gpu_type"
        assert info.value.value == "h100"
        assert info.value.expected == "one in the catalog (h100) or a price entry for it"
        with pytest.raises(UnknownPrice) as info:
            catalog.cluster("h100", ClusterBilling.RESERVED, instant(JAN))
        assert info.value.field == "reserved gpu_type at"
        with pytest.raises(UnknownPrice) as info:
            catalog.storage(ClusterBilling.RESERVED, LATER)
        assert info.value.field == "storage billing"
        assert info.value.value == "reserved"
        assert info.value.expected == "one in the catalog (on-demand) or a price entry for it"
        with pytest.raises(UnknownPrice) as info:
            catalog.storage(ClusterBilling.ON_DEMAND, instant(JAN))
        assert info.value.field == "storage billing at"

    def test_cluster_and_storage_lookups(self) -> None:
        """Cluster rates are per GPU type and billing; storage rates per billing."""
        reserved = ClusterPrice("h100", "reserved", "2", JAN)
        on_demand = ClusterPrice("h100", "on-demand", "3", JAN)
        volume = StoragePrice("reserved", "0.1", JAN)
        catalog = Catalog([reserved, on_demand, volume, StoragePrice("on-demand", "0.2", JAN)])
        assert catalog.cluster("h100", ClusterBilling.RESERVED, LATER) is reserved
        assert catalog.cluster("h100", ClusterBilling.ON_DEMAND, LATER) is on_demand
        assert catalog.storage(ClusterBilling.RESERVED, LATER) is volume

    def test_lookups_take_any_aware_instant(self) -> None:
        """Lookups convert the instant asked for (an ISO string or a datetime with an offset)."""
        catalog = Catalog([HardwarePrice("1x_g", "1", MAR), ServerlessPrice("m", "1", "1", MAR)])
        assert catalog.hardware("1x_g", "2025-03-01T01:00:00+01:00").per_hour == 1  # type: ignore[arg-type]
        assert catalog.serverless("m", "2025-03-01T01:00:00+01:00").input == 1  # type: ignore[arg-type]


class TestSizeTierDetails:
    def _catalog(self) -> Catalog:
        return Catalog(
            [
                SizeTierPrice("large", "80", "0.90", "0.95", JAN, DOC, batch_discount="0.5"),
                SizeTierPrice("medium", "20", "0.30", "0.30", JAN),
                SizeTierPrice("small", "8", "0.10", "0.20", MAR),
            ]
        )

    def test_tier_price_carries_every_rate_of_the_tier(self) -> None:
        """A tier-priced model gets the tier's rates, instant, source, discount and name."""
        price = self._catalog().serverless("new/model", LATER, params_b=Decimal(70))
        assert price == ServerlessPrice(
            "new/model", "0.90", "0.95", JAN, DOC, None, "0.5", tier="large"
        )

    def test_smallest_covering_tier_wins(self) -> None:
        """The tiers are tried from the smallest, whatever their order in the catalog."""
        catalog = self._catalog()
        assert catalog.size_tier(Decimal(8), LATER).tier == "small"
        assert catalog.size_tier(Decimal("8.01"), LATER).tier == "medium"
        assert catalog.size_tier(Decimal("20.01"), LATER).tier == "large"
        assert catalog.size_tier(Decimal(80), LATER).tier == "large"

    def test_too_large_names_the_largest_tier(self) -> None:
        """A model above every tier is refused as ``params_b``, naming the largest size."""
        with pytest.raises(UnknownPrice) as info:
            self._catalog().size_tier(Decimal(81), LATER)
        assert info.value.field == "params_b"
        assert info.value.value == Decimal(81)
        assert info.value.expected == "a size up to 80B covered by the size tiers"

    def test_no_tiers_at_all(self) -> None:
        """Without any tier, every size is refused."""
        with pytest.raises(UnknownPrice) as info:
            Catalog().size_tier(Decimal(1), LATER)
        assert info.value.expected == "a size up to NoneB covered by the size tiers"

    def test_tier_before_its_first_entry(self) -> None:
        """A tier asked for before it takes effect is refused with the tier's first instant."""
        with pytest.raises(UnknownPrice) as info:
            self._catalog().serverless("new", instant(JAN), params_b=Decimal(1))
        assert info.value.field == "size tier at"
        assert info.value.expected == "an instant at or after 2025-03-01T00:00:00+00:00"


class TestFineTuningDetails:
    def _catalog(self) -> Catalog:
        return Catalog(
            [
                FineTuningPrice("70", "sft", True, "1.50", JAN),
                FineTuningPrice("16", "sft", True, "0.48", JAN),
                FineTuningPrice("16", "sft", False, "0.54", JAN),
                FineTuningPrice("16", "dpo", True, "1.20", MAR),
                FineTuningPrice("100", "dpo", False, "9", JAN),
                HardwarePrice("1x_g", "1", JAN),
            ]
        )

    @pytest.mark.parametrize(
        ("params_b", "method", "lora", "rate"),
        [
            ("16", "sft", True, "0.48"),
            ("16.5", "sft", True, "1.50"),
            ("70", "sft", True, "1.50"),
            ("1", "sft", False, "0.54"),
            ("1", "dpo", True, "1.20"),
            ("70", "dpo", False, "9"),
        ],
    )
    def test_bracket_per_method_and_lora(
        self, params_b: str, method: str, lora: bool, rate: str
    ) -> None:
        """The smallest bracket of the same method and LoRA/full covering the size is used."""
        price = self._catalog().fine_tuning(
            Decimal(params_b), FineTuningMethod(method), lora=lora, at=LATER
        )
        assert price.per_1m_tokens == Decimal(rate)
        assert (price.method.value, price.lora) == (method, lora)

    @pytest.mark.parametrize(
        ("method", "lora", "expected"),
        [
            (
                "sft",
                True,
                (
                    "a model size covered by a sft/lora fine-tuning bracket "
                    "(brackets up to: ['16', '70'])"
                ),
            ),
            (
                "sft",
                False,
                "a model size covered by a sft/full fine-tuning bracket (brackets up to: ['16'])",
            ),
            (
                "dpo",
                False,
                "a model size covered by a dpo/full fine-tuning bracket (brackets up to: ['100'])",
            ),
        ],
    )
    def test_too_large_lists_the_brackets(self, method: str, lora: bool, expected: str) -> None:
        """A size above every bracket is refused, listing the brackets of that method and LoRA."""
        with pytest.raises(UnknownPrice) as info:
            self._catalog().fine_tuning(Decimal(101), FineTuningMethod(method), lora, LATER)
        assert info.value.field == "params_b"
        assert info.value.value == Decimal(101)
        assert info.value.expected == expected

    def test_bracket_before_its_first_entry(self) -> None:
        """A bracket asked for before it takes effect names the bracket's first instant."""
        with pytest.raises(UnknownPrice) as info:
            self._catalog().fine_tuning(Decimal(1), FineTuningMethod.DPO, True, instant(JAN))
        assert info.value.field == "fine-tuning bracket at"
        assert info.value.expected == "an instant at or after 2025-03-01T00:00:00+00:00"


FULL_YAML = """\
sources:
  docs: {url: 'https://example.com/docs', date: '2025-10-01', kind: together, note: read}
  blog: {url: 'https://example.com/blog', kind: third-party}
serverless:
  - {model: m, input: 0.1, output: 0.3, cached_input: 0.05, batch_discount: 0.5,
     effective_from: '2025-11-01T00:00:00Z', source: docs}
  - {model: plain, input: 1, output: 2, effective_from: '2025-11-01T00:00:00+01:00'}
size_tiers:
  - {tier: small, max_params_b: 8, input: 0.2, output: 0.25, batch_discount: 0.1,
     effective_from: '2025-11-01T00:00:00Z', source: blog}
hardware:
  - {hardware: 8x_g, per_hour: 2.5, gpu_count: 8, effective_from: '2025-11-01T00:00:00Z',
     source: {url: 'https://example.com/inline', kind: estimate}}
  - {hardware: 2x_h, cents_per_minute: 1_000.5, gpu_count: 2,
     effective_from: '2025-11-01T00:00:00Z', source: docs}
fine_tuning:
  - {max_params_b: 16, method: dpo, lora: false, per_1m_tokens: 0.75,
     effective_from: '2025-11-01T00:00:00Z', source: blog}
clusters:
  - {gpu_type: h100, billing: reserved, per_gpu_hour: 1.75,
     effective_from: '2025-11-01T00:00:00Z', source: docs}
storage:
  - {per_tib_hour: 0.16, effective_from: '2025-11-01T00:00:00Z', source: docs}
  - {billing: reserved, per_tib_hour: 0.12, effective_from: '2025-11-01T00:00:00Z'}
"""
NOV = "2025-11-01T00:00:00Z"
DEC = instant("2025-12-01T00:00:00Z")
DOCS = Source("https://example.com/docs", "2025-10-01", SourceKind.TOGETHER, "read")
BLOG = Source("https://example.com/blog", None, SourceKind.THIRD_PARTY, "")
INLINE = Source("https://example.com/inline", None, SourceKind.ESTIMATE, "")


class TestFileDetails:
    def test_every_field_of_every_entry_is_read(self, tmp_path: Path) -> None:
        """A catalog file gives exactly the entries written, with their sources and defaults."""
        path = tmp_path / "catalog.yaml"
        path.write_text(FULL_YAML, encoding="utf-8")
        catalog = Catalog.from_file(str(path))
        assert set(catalog.entries) == {
            ServerlessPrice("m", "0.1", "0.3", NOV, DOCS, "0.05", "0.5"),
            ServerlessPrice("plain", "1", "2", "2025-10-31T23:00:00Z"),
            SizeTierPrice("small", "8", "0.2", "0.25", NOV, BLOG, "0.1"),
            HardwarePrice("8x_g", "2.5", NOV, INLINE, 8),
            HardwarePrice("2x_h", "600.3", NOV, DOCS, 2),
            FineTuningPrice("16", "dpo", False, "0.75", NOV, BLOG),
            ClusterPrice("h100", "reserved", "1.75", NOV, DOCS),
            StoragePrice("on-demand", "0.16", NOV, DOCS),
            StoragePrice("reserved", "0.12", NOV),
        }
        assert len(catalog) == 9
        plain = catalog.serverless("plain", DEC)
        assert plain.source is USER_SOURCE
        assert (plain.cached_input, plain.batch_discount, plain.tier) == (None, 0, None)
        assert type(catalog.hardware("2x_h", DEC).per_hour) is Decimal

    def test_json_catalog_reads_exact_decimals(self, tmp_path: Path) -> None:
        """A ``.json`` catalog (any case of suffix) reads fractions as exact Decimals."""
        path = tmp_path / "catalog.JSON"
        path.write_text(
            '{"hardware": [{"hardware": "1x_g", "per_hour": 0.30000000000000004,'
            ' "effective_from": "2025-11-01T00:00:00Z"}]}',
            encoding="utf-8",
        )
        document = read_document(path)
        assert document["hardware"][0]["per_hour"] == Decimal("0.30000000000000004")
        price = Catalog.from_file(path).hardware("1x_g", DEC)
        assert price.per_hour == Decimal("0.30000000000000004")

    def test_json_is_not_read_as_yaml(self, tmp_path: Path) -> None:
        """A ``.json`` file is parsed as JSON: YAML syntax in it is a document error."""
        path = tmp_path / "catalog.json"
        path.write_text("hardware: []\n", encoding="utf-8")
        with pytest.raises(InvalidScenario) as info:
            read_document(path)
        assert info.value.value == str(path)
        assert [location for location, _ in info.value.errors] == ["(document)"]
        assert "Expecting value" in info.value.errors[0][1]

    def test_yaml_numbers(self, tmp_path: Path) -> None:
        """YAML fractions (with digit separators too) are Decimals; whole numbers stay ints."""
        path = tmp_path / "numbers.yaml"
        path.write_text("a: 1_000.25\nb: 0.1\nc: 7\n", encoding="utf-8")
        assert read_document(path) == {"a": Decimal("1000.25"), "b": Decimal("0.1"), "c": 7}
        assert type(read_document(path)["b"]) is Decimal

    def test_malformed_yaml_is_a_document_error(self, tmp_path: Path) -> None:
        """A file that is not YAML is refused as a whole-document problem."""
        path = tmp_path / "bad.yaml"
        path.write_text("hardware: [unclosed\n", encoding="utf-8")
        with pytest.raises(InvalidScenario) as info:
            Catalog.from_file(path)
        assert info.value.value == str(path)
        assert info.value.errors[0][0] == "(document)"
        assert info.value.errors[0][1]

    def test_schema_errors_name_the_file(self, tmp_path: Path) -> None:
        """A file that parses but does not validate is reported under its path."""
        path = tmp_path / "bad.yaml"
        path.write_text("storage:\n  - {per_tib_hour: 1}\n", encoding="utf-8")
        with pytest.raises(InvalidScenario) as info:
            Catalog.from_file(path)
        assert info.value.value == str(path)
        assert info.value.errors == [("storage[0].effective_from", "Field required")]

    def test_missing_file(self, tmp_path: Path) -> None:
        """A file that cannot be read is refused as ``path``, with the system's reason."""
        path = tmp_path / "missing.yaml"
        with pytest.raises(InvalidArgument) as info:
            Catalog.from_file(path)
        assert info.value.field == "path"
        assert info.value.value == str(path)
        assert info.value.expected == "a readable file (No such file or directory)"

    def test_unknown_source_reference(self) -> None:
        """An entry citing an undefined source is refused, naming the reference."""
        data = {
            "hardware": [
                {"hardware": "1x_g", "per_hour": 1, "effective_from": NOV, "source": "nope"}
            ]
        }
        with pytest.raises(InvalidScenario) as info:
            load_data(data, source_name="mine.yaml")
        assert info.value.value == "mine.yaml"
        assert info.value.errors == [("source", "unknown source 'nope'; define it under sources")]

    @pytest.mark.parametrize(
        "rates", [{"per_hour": 1, "cents_per_minute": 2}, {}], ids=["both", "neither"]
    )
    def test_hardware_needs_exactly_one_rate(self, rates: dict[str, int]) -> None:
        """A hardware entry gives exactly one of ``per_hour`` and ``cents_per_minute``."""
        data = {"hardware": [{"hardware": "1x_g", "effective_from": NOV, **rates}]}
        with pytest.raises(InvalidScenario) as info:
            load_data(data, source_name="mine.yaml")
        assert info.value.value == "mine.yaml"
        assert info.value.errors == [
            ("hardware 1x_g", "give exactly one of per_hour or cents_per_minute")
        ]

    def test_validation_errors_name_their_location(self) -> None:
        """Schema errors are located by dotted path, or ``(document)`` for the whole."""
        with pytest.raises(InvalidScenario) as info:
            load_data({"storage": [{"per_tib_hour": 1}]}, source_name="mine.yaml")
        assert info.value.value == "mine.yaml"
        assert info.value.errors == [("storage[0].effective_from", "Field required")]
        with pytest.raises(InvalidScenario) as info:
            load_data([1, 2])
        assert info.value.value == "catalog"
        assert [location for location, _ in info.value.errors] == ["(document)"]

    def test_default_source_name(self) -> None:
        """Without a source name, a document's problems are reported for ``catalog``."""
        with pytest.raises(InvalidScenario) as info:
            load_data({"hardware": [{"hardware": "1x_g", "effective_from": NOV}]})
        assert info.value.value == "catalog"
        assert load_data({}) == []
        document = CatalogDoc.model_validate(
            {"storage": [{"per_tib_hour": 1, "effective_from": NOV, "source": "nope"}]}
        )
        with pytest.raises(InvalidScenario) as info:
            entries_from_doc(document)
        assert info.value.value == "catalog"


class TestDefaultCatalogDetails:
    def test_loaded_once(self) -> None:
        """The shipped catalog is loaded once and shared."""
        assert default_catalog() is default_catalog()

    def test_loads_the_shipped_data_file(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """With the load-once cache emptied, the shipped data file is read again, exactly."""
        shipped = default_catalog()
        monkeypatch.setattr(catalog_module, "_DEFAULT", None)
        reloaded = default_catalog()
        assert reloaded is not shipped
        assert reloaded == shipped
        assert reloaded is default_catalog()
        h100 = reloaded.hardware("1x_nvidia_h100_80gb_sxm", instant("2025-12-01T00:00:00Z"))
        assert type(h100.per_hour) is Decimal
        assert h100.per_hour == Decimal("3.99")

    def test_shipped_sources_are_described(self) -> None:
        """The shipped entries carry dated sources; unofficial ones are flagged."""
        entries = default_catalog().entries
        assert len(entries) > 20
        kinds = {e.source.kind for e in entries}
        assert {SourceKind.TOGETHER, SourceKind.THIRD_PARTY, SourceKind.ESTIMATE} <= kinds
        for entry in entries:
            text = entry.source.describe()
            assert text.startswith(entry.source.url + " (")
            assert text.endswith("]") is not entry.source.official
