"""Ledger entries and lot allocations are append-only: on PostgreSQL a trigger refuses UPDATE and DELETE.

A mistake is corrected by a new entry, never by editing history. (SQLite, the embedded default, has no
such trigger: Django's test flush deletes rows there, and production runs on PostgreSQL.)
"""

from django.db import migrations

TABLES = ("loyalty_ledgerentry", "loyalty_lotallocation")

FORWARD = """
CREATE OR REPLACE FUNCTION loyalty_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
""" + "".join(
    f"""
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION loyalty_refuse_change();
"""
    for table in TABLES
)

BACKWARD = "".join(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};\n" for table in TABLES) + (
    "DROP FUNCTION IF EXISTS loyalty_refuse_change();"
)


def run(sql):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # the SQL has % signs, no parameters

    return apply


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0001_program_shops_ledger")]

    operations = [migrations.RunPython(run(FORWARD), run(BACKWARD), elidable=False)]
