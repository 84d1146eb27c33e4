// The schema of the store file, shared by HistoryStore and AttachmentStore so both may use one
// database file: whichever opens first brings the whole file up to date. The version lives in
// PRAGMA user_version; migration N takes the file from version N to N+1 and never changes once
// shipped — add a new one instead.
import Logging

enum StoreSchema {
    static let migrations: [String] = [
        // 1: history by target principal, and content-addressed attachments.
        """
        CREATE TABLE events (
            id         INTEGER PRIMARY KEY,
            host       TEXT NOT NULL,
            sender     TEXT NOT NULL,
            timestamp  TEXT NOT NULL,
            principals TEXT NOT NULL,  -- JSON array of the event's targets, as recorded
            payload    BLOB NOT NULL,  -- the encoded event exactly as delivered
            -- Deliveries still referencing this event; pruning deletes the event at 0. A counter
            -- instead of an index on deliveries(event_id): measured cheaper, as every delivery row
            -- would otherwise be written to and deleted from two b-trees.
            recipients INTEGER NOT NULL
        );
        -- One row per (target principal, event): history is per recipient, so offline principals
        -- get it too, and a fan-out to 1,000 connections of 3 principals costs 3 rows, not 1,000.
        CREATE TABLE deliveries (
            principal TEXT NOT NULL,
            event_id  INTEGER NOT NULL,
            PRIMARY KEY (principal, event_id)
        ) WITHOUT ROWID;
        -- Survives pruning: the highest event id ever recorded, so ids keep increasing on restart.
        CREATE TABLE store_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;

        CREATE TABLE attachments (
            id           TEXT PRIMARY KEY,
            type         TEXT NOT NULL,
            mime         TEXT NOT NULL,
            size         INTEGER NOT NULL,
            sha256       TEXT NOT NULL,
            name         TEXT NOT NULL,
            owner        TEXT NOT NULL,
            created_at   TEXT NOT NULL,
            thumb_sha256 TEXT,
            thumb_mime   TEXT,
            thumb_width  INTEGER,
            thumb_height INTEGER,
            thumb_size   INTEGER
        );
        CREATE TABLE attachment_grants (
            attachment_id TEXT NOT NULL,
            principal     TEXT NOT NULL,
            PRIMARY KEY (attachment_id, principal)
        ) WITHOUT ROWID;
        """,
        // 2: rooms (chat_api's threads), their members with state, permissions, notification
        // level, read mark and unread count, and each room's own history (not pruned per
        // principal: a room's history is paged with `before`).
        """
        CREATE TABLE rooms (
            id            TEXT PRIMARY KEY,
            title         TEXT NOT NULL,
            created_at    TEXT NOT NULL,
            updated_at    TEXT NOT NULL,
            last_event_id INTEGER
        );
        CREATE TABLE room_members (
            room_id     TEXT NOT NULL,
            member      TEXT NOT NULL,
            state       TEXT NOT NULL,
            permissions TEXT NOT NULL,      -- space-separated words
            notify      TEXT NOT NULL,
            presence    INTEGER NOT NULL,   -- 1: receives presence frames
            last_read   INTEGER NOT NULL DEFAULT 0,
            unread      INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (room_id, member)
        ) WITHOUT ROWID;
        CREATE INDEX room_members_by_member ON room_members (member, room_id);
        CREATE TABLE room_events (
            room_id  TEXT NOT NULL,
            event_id INTEGER NOT NULL,
            sender   TEXT NOT NULL,
            payload  BLOB NOT NULL,
            PRIMARY KEY (room_id, event_id)
        ) WITHOUT ROWID;
        """,
        // 3: non-members watching a room's live events (chat_api's ws-subscribe): one room per
        // principal, so the principal is the key.
        """
        CREATE TABLE room_watchers (
            principal TEXT PRIMARY KEY,
            room_id   TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX room_watchers_by_room ON room_watchers (room_id, principal);
        """,
        // 4: the host a room was created on: where the gateway's own frames about it go
        // (set_member_state from a plugin). Older rooms get '' (the default host).
        """
        ALTER TABLE rooms ADD COLUMN host TEXT NOT NULL DEFAULT '';
        """,
    ]

    static var currentVersion: Int { migrations.count }

    /// Sets the connection-level pragmas every store connection needs.
    static func configure(_ connection: SQLiteConnection) throws(StoreError) {
        // WAL: readers never block the writer and the writer never blocks readers.
        // synchronous=NORMAL: in WAL mode a power loss may lose the last transactions but never
        // corrupts the file — the right trade for chat history written in batches.
        try connection.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;")
        // SQLite's default page cache (2 MB) is smaller than the pages one large batch and its
        // pruning touch; then every page is re-read through pread. Measured: raising it and mapping
        // the file made batch commits about 1.5x faster. Both are upper bounds, not allocations.
        try connection.execute("PRAGMA cache_size = -32768; PRAGMA mmap_size = 268435456; PRAGMA temp_store = MEMORY;")
        // A burst commits large batches and the WAL grows with them; after a checkpoint, shrink it
        // back instead of keeping the high-water size on disk forever.
        try connection.execute("PRAGMA journal_size_limit = 67108864;")
    }

    static func migrate(_ connection: SQLiteConnection, logger: Logger) throws(StoreError) {
        try connection.transaction { () throws(StoreError) in
            let version = try connection.withStatement("PRAGMA user_version") { statement throws(StoreError) in
                try statement.step() ? statement.int(0) : 0
            }
            if version > currentVersion {
                throw StoreError(
                    code: StoreError.schemaTooNewCode,
                    message: "\(connection.path) has schema version \(version) but this gateway knows only up to "
                        + "\(currentVersion); run a newer gateway or point the store at another file")
            }
            for next in version..<currentVersion {
                try connection.execute(migrations[next])
                logger.info("store schema migrated", metadata: ["path": "\(connection.path)", "version": "\(next + 1)"])
            }
            if version != currentVersion {
                try connection.execute("PRAGMA user_version = \(currentVersion)")
            }
        }
    }

    /// Opens a read-write connection, creating the folder, enabling WAL and migrating the schema.
    static func openMigrated(path: String, logger: Logger) throws(StoreError) -> SQLiteConnection {
        try FileSystem.createParentDirectories(of: path)
        let connection = try SQLiteConnection(path: path)
        try configure(connection)
        try migrate(connection, logger: logger)
        return connection
    }
}
