import GatewayCore
import Logging
import NIOCore
import NIOPosix

/// `?last_id=N`: what a reconnecting client missed, read from the engine's history on the
/// blocking pool, passed through RecipientView with the current chain, written before any live
/// event (the connection holds live events meanwhile).
struct HistoryReplay: Sendable {
    let engine: any EventEngine
    let chain: ChainReference
    let pool: NIOThreadPool
    /// [history] per_recipient: at most this many events are replayed.
    let limit: Int
    let logger: Logger

    func run(_ connection: ClientConnection, after lastId: Int64, on loop: EventLoop) {
        let engine = self.engine, recipient = connection.recipient, limit = self.limit
        let read = pool.runIfActive(eventLoop: loop) { () throws -> [RecordedEvent] in
            try engine.events(after: lastId, for: recipient, limit: limit)
        }
        let chain = self.chain, logger = self.logger
        let bound = NIOLoopBound(connection, eventLoop: loop)
        read.whenComplete { result in
            // Back on the connection's loop (runIfActive completes on `loop`).
            let connection = bound.value
            switch result {
            case .success(let events):
                let current = chain.current
                for recorded in events where !connection.closing {
                    if let bytes = RecipientView.bytes(of: recorded, for: recipient, chain: current) {
                        connection.writeReplayed(bytes)
                    }
                }
                connection.finishReplay(replayed: Set(events.map(\.id)))
            case .failure(let error):
                logger.error("history replay failed", metadata: ["error": "\(error)"])
                connection.sendError(ref: nil, GatewayError(code: "history.unavailable",
                                                            message: "Missed events could not be read; live events continue.", status: 503))
                connection.finishReplay(replayed: [])
            }
        }
    }
}

