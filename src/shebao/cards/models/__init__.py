"""The cards app's models, one module per part of the chain (issue #4).

`card` holds the card itself and its history; `applications`, `production` and `banking` the
way in (申领, 制卡, 开户); `custody` the handovers down to the holder (交接, 签收).
"""

from shebao.cards.models.card import Card, CardHistory

__all__ = ["Card", "CardHistory"]
