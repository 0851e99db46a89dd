"""The approval chain's permission to sign (granted per request to its roles' groups), and on PostgreSQL the
database's own refusals of what the signing services refuse:

- a signature is accepted only on a pending, unexpired request, over its current payload digest, at the next
  step of that digest (the count of signatures over it), in that step's role, naming the request's requester;
- a request's candidate, requester, roles, creation and expiry are fixed; a decided request changes no more;
  the payload changes only while pending; a request becomes approved only with an approval for every role
  over its current digest.
"""
from django.db import migrations

SIGNATURE_GUARD = """
CREATE FUNCTION promotions_signature_guard() RETURNS trigger AS $$
DECLARE
    req promotions_promotionrequest%ROWTYPE;
    signed integer;
BEGIN
    SELECT * INTO req FROM promotions_promotionrequest WHERE id = NEW.request_id FOR UPDATE;
    IF req.status <> 'pending' THEN
        RAISE EXCEPTION 'promotion request % is %: it takes no signature', req.id, req.status
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF clock_timestamp() > req.expires_at THEN
        RAISE EXCEPTION 'promotion request % expired at %: it takes no signature', req.id, req.expires_at
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.requested_by_id IS DISTINCT FROM req.requested_by_id THEN
        RAISE EXCEPTION 'a signature must name its request''s requester (request %)', req.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.payload_digest <> req.payload_digest THEN
        RAISE EXCEPTION 'a signature must be over request %''s current payload', req.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    SELECT count(*) INTO signed FROM promotions_signature
        WHERE request_id = NEW.request_id AND payload_digest = NEW.payload_digest;
    IF NEW.step <> signed THEN
        RAISE EXCEPTION 'steps are signed in order: request % awaits step %, not %', req.id, signed, NEW.step
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (req.roles ->> NEW.step::integer) IS DISTINCT FROM NEW.role THEN
        RAISE EXCEPTION 'step % of request % is signed by role %, not %', NEW.step, req.id,
            req.roles ->> NEW.step::integer, NEW.role
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
"""

REQUEST_GUARD = """
CREATE FUNCTION promotions_request_guard() RETURNS trigger AS $$
DECLARE
    approvals integer;
BEGIN
    IF NEW.candidate_id <> OLD.candidate_id OR NEW.requested_by_id IS DISTINCT FROM OLD.requested_by_id
       OR NEW.roles <> OLD.roles OR NEW.created_at <> OLD.created_at OR NEW.expires_at <> OLD.expires_at THEN
        RAISE EXCEPTION 'promotion request %: candidate, requester, roles and times are fixed when requested', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.status <> 'pending' AND (NEW.status <> OLD.status OR NEW.payload_digest <> OLD.payload_digest
       OR NEW.payload <> OLD.payload OR NEW.decided_at IS DISTINCT FROM OLD.decided_at) THEN
        RAISE EXCEPTION 'promotion request % is %: a decided request does not change', OLD.id, OLD.status
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.status <> 'pending' AND NEW.payload_digest <> OLD.payload_digest THEN
        RAISE EXCEPTION 'promotion request %: the payload changes only while pending', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.status = 'approved' AND OLD.status = 'pending' THEN
        SELECT count(*) INTO approvals FROM promotions_signature
            WHERE request_id = NEW.id AND payload_digest = NEW.payload_digest AND decision = 'approve';
        IF approvals < jsonb_array_length(NEW.roles) THEN
            RAISE EXCEPTION 'promotion request % has % of % approvals over its payload: not approved', OLD.id,
                approvals, jsonb_array_length(NEW.roles)
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(SIGNATURE_GUARD, params=None)
    schema_editor.execute("CREATE TRIGGER promotions_signature_guard BEFORE INSERT ON promotions_signature "
                          "FOR EACH ROW EXECUTE FUNCTION promotions_signature_guard()", params=None)
    schema_editor.execute(REQUEST_GUARD, params=None)
    schema_editor.execute("CREATE TRIGGER promotions_request_guard BEFORE UPDATE ON promotions_promotionrequest "
                          "FOR EACH ROW EXECUTE FUNCTION promotions_request_guard()", params=None)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP TRIGGER IF EXISTS promotions_signature_guard ON promotions_signature", params=None)
    schema_editor.execute("DROP FUNCTION IF EXISTS promotions_signature_guard()", params=None)
    schema_editor.execute("DROP TRIGGER IF EXISTS promotions_request_guard ON promotions_promotionrequest", params=None)
    schema_editor.execute("DROP FUNCTION IF EXISTS promotions_request_guard()", params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('promotions', '0003_deployments'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='promotionrequest',
            options={'ordering': ['-created_at', '-id'],
                     'permissions': [('sign_promotionrequest',
                                      'Can sign a promotion request (granted per request to its roles)')]},
        ),
        migrations.RunPython(install, remove),
    ]
