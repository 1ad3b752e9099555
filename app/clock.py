""" "Today", evaluated in PACTA_TIMEZONE: the one clock every date-derived fact reads."""

from datetime import date, datetime
from typing import Annotated

from fastapi import Depends, Request

from app.config import Settings


def today_in(settings: Settings) -> date:
    return datetime.now(settings.zone).date()


async def today(request: Request) -> date:
    settings: Settings = request.app.state.settings
    return today_in(settings)


Today = Annotated[date, Depends(today)]
