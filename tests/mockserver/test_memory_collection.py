"""The in-memory collection's pages and equality indexes (`mockserver.store.MemoryCollection`)."""

from mockserver.store import MemoryCollection


def _collection() -> MemoryCollection:
    collection = MemoryCollection("id", indexed=("status",))
    for number, (status, score) in enumerate(
        [("open", 1), ("done", 2), ("open", 3), ("open", 4), ("done", 5)]
    ):
        collection.insert({"id": f"r{number}", "status": status, "score": score})
    return collection


def _ids(records: list[dict[str, object]]) -> list[object]:
    return [record["id"] for record in records]


def test_an_indexed_equality_and_another_predicate_both_hold_newest_first() -> None:
    collection = _collection()
    records, more = collection.page([("status", "eq", "open"), ("score", "gte", 3)], limit=10)
    assert _ids(records) == ["r3", "r2"]
    assert more is False


def test_a_page_says_whether_more_match_after_it() -> None:
    collection = _collection()
    records, more = collection.page([("status", "eq", "open")], limit=2)
    assert (_ids(records), more) == (["r3", "r2"], True)
    records, more = collection.page([("status", "eq", "open")], limit=3)
    assert (_ids(records), more) == (["r3", "r2", "r0"], False)


def test_an_indexed_value_no_record_has_matches_nothing() -> None:
    assert _collection().page([("status", "eq", "lost")], limit=10) == ([], False)


def test_a_replaced_record_moves_to_the_index_entry_of_its_new_value() -> None:
    collection = _collection()
    collection.replace({"id": "r2", "status": "done", "score": 3})
    assert _ids(collection.page([("status", "eq", "open")], limit=10)[0]) == ["r3", "r0"]
    assert _ids(collection.page([("status", "eq", "done")], limit=10)[0]) == ["r4", "r2", "r1"]


def test_a_replaced_record_that_keeps_its_indexed_value_stays_found_once() -> None:
    collection = _collection()
    collection.replace({"id": "r2", "status": "open", "score": 30})
    records, _ = collection.page([("status", "eq", "open"), ("score", "gt", 10)], limit=10)
    assert records == [{"id": "r2", "status": "open", "score": 30}]
    assert _ids(collection.page([("status", "eq", "open")], limit=10)[0]) == ["r3", "r2", "r0"]


def test_a_deleted_record_leaves_its_index_entry() -> None:
    collection = _collection()
    collection.delete("r1")
    collection.delete("r4")
    assert collection.page([("status", "eq", "done")], limit=10) == ([], False)
    assert collection.newest("status", "open") == {"id": "r3", "status": "open", "score": 4}


def test_a_page_before_a_sequence_number_holds_only_older_records() -> None:
    collection = _collection()
    assert _ids(collection.page([], limit=2, before=3)[0]) == ["r2", "r1"]
    assert collection.page([("status", "eq", "open")], limit=5, before=3)[1] is False
    assert _ids(collection.page([], limit=10)[0]) == ["r4", "r3", "r2", "r1", "r0"]
