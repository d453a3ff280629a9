from loyalty.program.models import Program


def program_get() -> Program:
    """The program's settings; an unsaved row of defaults before `load_program` has run."""
    return Program.objects.filter(pk=Program.SINGLETON_PK).first() or Program()
