"""The LIVE confirmation under Pilot: only the exact word enables Confirm; no shortcut confirms."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Button, Input, Static

from cockpit.config import RiskLimits
from widgets.live_confirm import LiveConfirmDialog

WALLET = "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T"


class Host(App[None]):
    def __init__(
        self,
        limits: RiskLimits | None = None,
        wallet: str | None = WALLET,
    ) -> None:
        super().__init__()
        self.results: list[bool | None] = []
        self._limits = limits or RiskLimits(daily_loss_limit_usdt=20)
        self._wallet = wallet

    def compose(self) -> ComposeResult:
        yield Static("host")

    def on_mount(self) -> None:
        self.push_screen(
            LiveConfirmDialog(self._limits, "drift", self._wallet),
            self.results.append,
        )


async def test_only_exact_live_enables_confirm() -> None:
    app = Host()
    async with app.run_test() as pilot:
        dialog = app.screen
        assert isinstance(dialog, LiveConfirmDialog)
        field = dialog.query_one("#live-typed", Input)
        confirm = dialog.query_one("#live-confirm", Button)
        assert app.focused is field
        for wrong in ("live", "LIVE ", "Live", "LIV"):
            field.value = ""
            await pilot.press(*wrong)
            await pilot.press("enter")
            await pilot.pause()
            assert confirm.disabled, wrong
            assert app.results == [], wrong
        hint = str(dialog.query_one("#live-hint", Static).render())
        assert "type exactly LIVE" in hint
        field.value = ""
        await pilot.press(*"LIVE")
        await pilot.pause()
        assert not confirm.disabled
        await pilot.click("#live-confirm")
        await pilot.pause()
        assert app.results == [True]


async def test_enter_on_exact_word_confirms() -> None:
    app = Host()
    async with app.run_test() as pilot:
        await pilot.press(*"LIVE", "enter")
        await pilot.pause()
        assert app.results == [True]


async def test_no_key_shortcut_confirms_and_escape_cancels() -> None:
    app = Host()
    async with app.run_test() as pilot:
        await pilot.press("enter")  # empty field
        await pilot.press("y", "Y", "enter")
        await pilot.pause()
        assert app.results == []
        await pilot.press("tab", "enter")  # Confirm is disabled: Tab lands on Cancel
        await pilot.pause()
        assert app.results == [False]

    app = Host()
    async with app.run_test() as pilot:
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [False]


async def test_shows_limits_and_only_a_short_public_address() -> None:
    app = Host()
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        dialog = app.screen
        limits = str(dialog.query_one("#live-limits", Static).render())
        for words in ("50 USDT", "2x", "60 s", "20 USDT per UTC day"):
            assert words in limits
        venue = str(dialog.query_one("#live-venue", Static).render())
        assert "4Nd1…DB4T" in venue
        assert WALLET not in venue and WALLET not in limits


async def test_daily_loss_off_open_positions_and_no_wallet() -> None:
    app = Host(RiskLimits(max_open_positions=1), wallet=None)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        dialog = app.screen
        limits = str(dialog.query_one("#live-limits", Static).render())
        assert "max open positions" in limits
        assert "daily loss limit" in limits and "off" in limits
        assert "USDT per UTC day" not in limits
        venue = str(dialog.query_one("#live-venue", Static).render())
        assert "drift" in venue and "none" in venue
        explain = str(dialog.query_one("#live-explain", Static).render())
        assert explain == (
            "Type LIVE to confirm. Exits and stops are never blocked; "
            "leaving LIVE-SMALL is one key."
        )
