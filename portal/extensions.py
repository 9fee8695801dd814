"""Extension instances, bound to an application in :func:`portal.create_app`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    # Stable constraint names, so that migrations can refer to them on every database.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


#: The largest id an ``Integer`` primary key holds on every database: PostgreSQL's ``integer`` is 32-bit.
MAX_ROW_ID = 2**31 - 1

db = SQLAlchemy(model_class=Base)
if TYPE_CHECKING:
    # Flask-SQLAlchemy makes db.Model at run time, out of sight of a type checker; to one,
    # the base class of the models is the declarative base that db.Model derives from.
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
