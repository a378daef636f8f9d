from storage import pool


def face(n: int) -> pool.NewFace:
    return pool.NewFace(crop_png=b"png%d" % n, box=(n, n, 10, 10), phash=(1 << 63) + n)


async def test_source_and_faces_round_trip_with_unsigned_hashes(db):
    ids = await pool.add_source(db, 1, "abc", "a.jpg", [face(1), face(2)])
    assert await pool.source_exists(db, 1, "abc")
    faces = await pool.list_faces(db, 1)
    assert [f.id for f in faces] == ids
    assert faces[0].phash == (1 << 63) + 1 and faces[0].origin == "a.jpg"
    assert await pool.face_crops(db, 1, ids) == {ids[0]: b"png1", ids[1]: b"png2"}
    assert sorted(await pool.guild_phashes(db, 1)) == [(1 << 63) + 1, (1 << 63) + 2]


async def test_guilds_do_not_see_each_other(db):
    [mine] = await pool.add_source(db, 1, "abc", "a.jpg", [face(1)])
    await pool.add_source(db, 2, "def", "b.jpg", [face(2)])
    assert not await pool.source_exists(db, 2, "abc")
    assert await pool.get_face(db, 2, mine) is None
    assert await pool.face_crops(db, 2, [mine]) == {}
    assert not await pool.set_hidden(db, 2, mine, True)
    assert await pool.delete_face(db, 2, mine) is None
    assert await pool.count_faces(db, 1) == 1


async def test_hidden_faces_leave_the_pool_but_stay_duplicates(db):
    [face_id] = await pool.add_source(db, 1, "abc", "a.jpg", [face(1)])
    assert await pool.set_hidden(db, 1, face_id, True)
    assert await pool.list_faces(db, 1) == []
    assert len(await pool.list_faces(db, 1, include_hidden=True)) == 1
    assert await pool.guild_phashes(db, 1) == [(1 << 63) + 1]
