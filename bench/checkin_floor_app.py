"""The app bench/duty_checkin_load.py serves, with one route more: the floor of a check-in.

`POST /bench/floor` does the least any endpoint that stores a check-in before answering must do, through the same
stack (gunicorn, Flask, Flask-SQLAlchemy, PyMySQL, MariaDB with its durable commits): it parses the JSON body,
inserts it as one row of a scratch table (`bench_floor`, which the bench creates in its throwaway database) and
commits, then answers a small JSON body. No authentication, no reads, no judgement: whatever its rate is, no real
check-in can be faster, so its ratio to the bare /api/health bounds the ratio a check-in can reach on this machine.

Served by gunicorn as `checkin_floor_app:create_app()` with bench/ on the Python path. Not part of the product.
"""

from __future__ import annotations

import json

from flask import request
from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from app import create_app as create_product_app
from models import db

floor = Table(
    "bench_floor",
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("body", String(1000), nullable=False),
)


def create_app():
    app = create_product_app()

    @app.post("/bench/floor")
    def store_one_row():
        body = request.get_json()
        db.session.execute(insert(floor).values(body=json.dumps(body, ensure_ascii=False)[:1000]))
        db.session.commit()
        return {"stored": True}, 201

    return app
