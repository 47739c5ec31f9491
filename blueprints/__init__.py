"""One blueprint per domain under /api/<domain>; `register_blueprints` mounts them all."""

from __future__ import annotations

from blueprints.sandbox import register_sandboxes

PUBLIC_PATHS = ("/api/auth/login", "/api/auth/wechat", "/api/health")


def register_blueprints(app) -> None:
    from blueprints.audit import bp as audit_bp
    from blueprints.auth import bp as auth_bp
    from blueprints.files import bp as files_bp
    from blueprints.home import bp as home_bp
    from blueprints.me import bp as me_bp
    from blueprints.meetings import bp as meetings_bp
    from blueprints.members import bp as members_bp
    from blueprints.orgs import bp as orgs_bp
    from blueprints.stats import bp as stats_bp

    for bp in (auth_bp, me_bp, home_bp, orgs_bp, members_bp, meetings_bp, files_bp, audit_bp, stats_bp):
        app.register_blueprint(bp)
    # Later features after the core: their home-page entries follow the core's.
    from blueprints.duty import bp as duty_bp
    from blueprints.geofences import bp as geofences_bp
    from blueprints.health import bp as health_bp
    from blueprints.learning import register_learning

    for bp in (geofences_bp, duty_bp, health_bp):
        app.register_blueprint(bp)
    register_learning(app)
    from blueprints.inbox import bp as inbox_bp

    app.register_blueprint(inbox_bp)
    from blueprints.reminders import register_reminders

    register_reminders(app)
    from blueprints.me_official_account import bp as me_oa_bp
    from blueprints.wechat_callback import bp as wechat_callback_bp

    app.register_blueprint(me_oa_bp)
    app.register_blueprint(wechat_callback_bp)  # /wechat/callback: WeChat's signature, not a JWT
    if not app.config["SETTINGS"].is_production:
        from blueprints.demo import bp as demo_bp

        app.register_blueprint(demo_bp)
    register_sandboxes(app)

    @app.spec_processor
    def mark_security(spec):
        # Every operation needs a bearer token except logging in and refreshing (which carries its own).
        for path, ops in spec.get("paths", {}).items():
            for op in ops.values():
                if isinstance(op, dict) and path not in PUBLIC_PATHS and not path.startswith("/api/files/"):
                    op.setdefault("security", [{"BearerAuth": []}])
        return spec
