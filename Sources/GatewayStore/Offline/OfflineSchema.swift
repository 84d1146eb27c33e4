// The schema of the offline-delivery database: its own file (gateway.conf [offline] path), so its
// migrations never interleave with history's. Same rule as StoreSchema: migration N takes the file
// from version N to N+1 and never changes once shipped.
import Logging

enum OfflineSchema {
    static let migrations: [String] = [
        // 1: addresses, opt-outs, read marks, held (countdown) events, messenger deliveries.
        """
        -- A recipient's address per messenger alias: set by the user (source 'user'), or copied
        -- from a token claim (source 'claim'); a user's own setting is never overwritten by a claim.
        CREATE TABLE addresses (
            principal TEXT NOT NULL,
            alias     TEXT NOT NULL,
            address   TEXT NOT NULL,
            source    TEXT NOT NULL,
            PRIMARY KEY (principal, alias)
        ) WITHOUT ROWID;
        -- Categories a user does not want through a messenger ('*' = every category).
        CREATE TABLE opt_outs (
            principal TEXT NOT NULL,
            alias     TEXT NOT NULL,
            category  TEXT NOT NULL,
            PRIMARY KEY (principal, alias, category)
        ) WITHOUT ROWID;
        CREATE TABLE reads (
            principal TEXT NOT NULL,
            event_id  INTEGER NOT NULL,
            read_at   REAL NOT NULL,
            PRIMARY KEY (principal, event_id)
        ) WITHOUT ROWID;
        -- Events held by "countdown": routed when due unless their publisher cancelled them.
        CREATE TABLE held_events (
            id        INTEGER PRIMARY KEY,
            publisher TEXT NOT NULL,
            due_at    REAL NOT NULL,
            payload   BLOB NOT NULL,   -- the normalized event, with its target and fallback
            state     TEXT NOT NULL    -- held | routed | cancelled
        );
        CREATE INDEX held_due ON held_events (state, due_at);
        -- One row per (event, recipient, messenger): the unit that is sent, retried or dead-lettered.
        CREATE TABLE deliveries (
            event_id   INTEGER NOT NULL,
            principal  TEXT NOT NULL,
            alias      TEXT NOT NULL,
            due_at     REAL NOT NULL,
            attempts   INTEGER NOT NULL DEFAULT 0,
            state      TEXT NOT NULL,  -- pending | sent | skipped | refused | dead
            payload    BLOB NOT NULL,  -- the event as delivered
            last_error TEXT,
            PRIMARY KEY (event_id, principal, alias)
        );
        CREATE INDEX deliveries_due ON deliveries (state, due_at);
        """,
    ]

    static var currentVersion: Int { migrations.count }

    static func open(path: String, logger: Logger) throws(StoreError) -> SQLiteConnection {
        try FileSystem.createParentDirectories(of: path)
        let connection = try SQLiteConnection(path: path)
        try connection.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
        try connection.transaction { () throws(StoreError) in
            let version = try connection.withStatement("PRAGMA user_version") { statement throws(StoreError) in
                try statement.step() ? statement.int(0) : 0
            }
            if version > currentVersion {
                throw StoreError(code: StoreError.schemaTooNewCode,
                                 message: "\(path) has offline schema version \(version) but this gateway knows only up to \(currentVersion)")
            }
            for next in version..<currentVersion {
                try connection.execute(migrations[next])
                logger.info("offline schema migrated", metadata: ["path": "\(path)", "version": "\(next + 1)"])
            }
            if version != currentVersion { try connection.execute("PRAGMA user_version = \(currentVersion)") }
        }
        return connection
    }
}
