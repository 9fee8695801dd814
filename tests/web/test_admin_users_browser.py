"""The users page in Chromium: every row's controls stay inside the card, on a laptop and on a phone.

One portal and one browser serve the module. The users are added through the
page's own form, as an admin does; one has a name of the longest kind, and one
is disabled, so that the rows hold every button they can; axe-core (as in
``test_a11y_browser``) audits the page so filled. Screenshots go to
``test-artifacts/web/admin-users-*.png``.
"""

from __future__ import annotations

import pytest

from tests.browsing import BROWSER_MODULE_MARKS
from tests.browsing import DESKTOP
from tests.browsing import PHONE
from tests.browsing import open_page
from tests.browsing import screenshot
from tests.browsing import start_portal
from tests.web.test_a11y_browser import run_axe

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the module is skipped then
    pass

pytestmark = BROWSER_MODULE_MARKS

PASSWORD = "a long enough secret"
#: The longest names the form takes are 64 characters; a row must hold one too.
#: Widths either side of where the table turns into cards (72rem), besides a laptop's and a phone's.
WIDTHS = {
    "laptop": DESKTOP,
    "narrow-laptop": {"width": 1153, "height": 860},
    "small-laptop": {"width": 1100, "height": 800},
    "tablet": {"width": 800, "height": 1000},
    "phone": PHONE,
}
USERS = [("viewer-of-the-harbour-videos", "viewer"), ("u" * 30 + "-" + "v" * 33, "uploader"), ("camille.dupont", "admin")]


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    running = start_portal(tmp_path_factory.mktemp("admin-users") / "data", {})
    yield running
    running.stop()


@pytest.fixture(scope="module")
def users(browser, portal) -> list[str]:
    """The users, added by the admin on the page: one of them then disabled."""
    page, csp = open_page(browser, portal)
    try:
        page.goto(portal.url + "/admin/users")
        for username, role in USERS:
            form = page.get_by_role("region", name="Add a user")
            form.get_by_label("Username").fill(username)
            form.get_by_label("Password").fill(PASSWORD)
            form.get_by_label("Role").select_option(role)
            form.get_by_role("button", name="Add user").click()
            expect(page.locator(".alert")).to_contain_text(f"Added {username}")
        page.get_by_role("button", name=f"Disable {USERS[0][0]}").click()
        expect(page.locator(f'tr[data-user="{USERS[0][0]}"]')).to_contain_text("Disabled")
    finally:
        page.context.close()
    assert csp.violations == []
    return ["admin", *(username for username, _ in USERS)]


def controls_outside_their_card(page) -> list[str]:
    """Each visible control of a user's or a token's row whose box is not wholly inside its card's box
    (cut off by the table's scrolling box, or sticking out of the card)."""
    return page.evaluate(
        """() => {
          const outside = [];
          for (const row of document.querySelectorAll("tr[data-user], tr[data-token-id]")) {
            const card = row.closest("section.card").getBoundingClientRect();
            for (const control of row.querySelectorAll("button, summary, select, input:not([type=hidden])")) {
              if (!control.checkVisibility()) {
                continue;  // the new password's field and button, until "Reset password" opens them
              }
              const box = control.getBoundingClientRect();
              if (box.left < card.left || box.right > card.right || box.top < card.top || box.bottom > card.bottom) {
                outside.push(`${row.dataset.user || "token " + row.dataset.tokenId}: ` +
                             `${(control.textContent || control.name).trim()} ` +
                             `[${Math.round(box.left)}, ${Math.round(box.right)}] in [${Math.round(card.left)}, ${Math.round(card.right)}]`);
              }
            }
          }
          return outside;
        }"""
    )


@pytest.mark.parametrize("name", WIDTHS)
def test_every_rows_buttons_are_inside_the_users_card(browser, portal, users, name):
    page, csp = open_page(browser, portal, viewport=WIDTHS[name])
    try:
        page.goto(portal.url + "/admin/users")
        expect(page.locator("tr[data-user]")).to_have_count(len(users))
        expect(page.locator("tr[data-token-id]")).to_have_count(1)
        screenshot(page, f"admin-users-{name}")
        assert controls_outside_their_card(page) == []
        # The page itself does not scroll sideways either.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        # "Reset password" opens its field and button in the row; the longest name's row still holds them.
        longest = max(users, key=len)
        page.locator("summary").filter(has_text=f"Reset password of {longest}").click()
        field = page.get_by_label(f"New password of {longest}")
        expect(field).to_be_visible()
        field.fill(PASSWORD)
        screenshot(page, f"admin-users-{name}-reset", full_page=False)
        assert controls_outside_their_card(page) == []
        page.keyboard.press("Enter")
        expect(page.locator(".alert")).to_contain_text(longest)
    finally:
        page.context.close()
    assert csp.violations == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["laptop", "phone"])
def test_the_users_page_with_many_rows_passes_axe(browser, portal, users, viewport, scheme):
    page, _ = open_page(browser, portal, viewport=viewport, color_scheme=scheme, bypass_csp=True)
    try:
        page.goto(portal.url + "/admin/users")
        expect(page.locator("tr[data-user]")).to_have_count(len(users))
        violations = run_axe(page)
    finally:
        page.context.close()
    assert violations == []
