"""Tests of :mod:`together_billing.catalog` (rules G4, SL2, DE1)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from together_billing import (
    Catalog,
    FineTuningMethod,
    FineTuningPrice,
    HardwarePrice,
    InvalidArgument,
    InvalidScenario,
    ServerlessPrice,
    SizeTierPrice,
    SourceKind,
    UnknownPrice,
    default_catalog,
    instant,
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
