from adit_core.db.database import Database, DatabaseError

__all__ = ["Database", "DatabaseError"]
