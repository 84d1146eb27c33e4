import NIOHTTP1

/// The two kinds of server the bench drives. Everything server-specific (paths, tokens,
/// publish body) lives here so the scenarios are the same code for both, which is what makes
/// the gateway/nchan ratio meaningful.
enum ServerKind: String, CaseIterable {
    case gateway
    case nchan
}

/// Who a subscriber is and who an event goes to.
enum Audience: Sendable {
    /// Everyone on the shared fan-out topic.
    case fanout
    /// One personal user, `user-<index>`.
    case user(Int)
    /// A room's members. On the gateway the room (created by RoomSetup, id `id`) is the target
    /// and its members join by membership, as `.user`; on nchan it is channel `…-room-<index>`
    /// that its members subscribe to (no membership, unread or presence work: a lower bound).
    case room(index: Int, id: String)
    /// A subscriber who is user `user` and a member of room `room`.
    case member(user: Int, room: Int)
}

struct ServerTarget {
    let kind: ServerKind
    let host: String
    let port: Int
    let channel: String
    let minter: JWTMinter

    /// The principal that fan-out subscribers share on the gateway.
    static let fanoutPrincipal = "group:bench"

    func subscribeRequest(for audience: Audience) -> (uri: String, headers: HTTPHeaders) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "\(host):\(port)")
        switch kind {
        case .nchan:
            return ("/sub?id=\(channelName(for: audience))", headers)
        case .gateway:
            let token: String
            switch audience {
            case .fanout:
                token = minter.token(subject: "bench-sub", principals: [Self.fanoutPrincipal])
            case .user(let index), .member(user: let index, room: _):
                token = minter.token(subject: "user-\(index)", principals: ["user-\(index)"])
            case .room(let index, _):
                preconditionFailure("gateway room \(index): members subscribe as .member, by membership")
            }
            headers.add(name: "Authorization", value: "Bearer \(token)")
            return ("/ws", headers)
        }
    }

    func publishURI(for audience: Audience) -> String {
        switch kind {
        case .nchan: return "/pub?id=\(channelName(for: audience))"
        case .gateway: return "/api/v1/events"
        }
    }

    /// Headers shared by every publish on one connection; built once per run.
    func publishHeaders() -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "\(host):\(port)")
        headers.add(name: "Content-Type", value: "application/json")
        if kind == .gateway {
            let token = minter.token(subject: "bench-publisher", principals: ["bench-publisher"], canPublish: true)
            headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        return headers
    }

    /// The event body. The same bytes go to nchan (which delivers the raw body) and to the
    /// gateway (which passes `data` through unchanged), so both deliver a frame holding
    /// `"bench_ts":<ns>` for the receiver's byte scan.
    func publishBody(for audience: Audience, sequence: Int, sentAtNanos: UInt64, padding: String) -> String {
        let principal: String
        switch audience {
        case .fanout: principal = Self.fanoutPrincipal
        case .user(let index), .member(user: let index, room: _): principal = "user-\(index)"
        case .room(_, let id):
            return "{\"category\":\"bench\",\"action\":\"notify\",\"message\":\"x\(padding)\",\"target\":{\"rooms\":[\"\(id)\"]},\"data\":{\"bench_seq\":\(sequence),\"bench_ts\":\(sentAtNanos)}}"
        }
        return "{\"category\":\"bench\",\"action\":\"notify\",\"message\":\"x\(padding)\",\"target\":{\"principals\":[\"\(principal)\"]},\"data\":{\"bench_seq\":\(sequence),\"bench_ts\":\(sentAtNanos)}}"
    }

    private func channelName(for audience: Audience) -> String {
        switch audience {
        case .fanout: return channel
        case .user(let index): return "\(channel)-user-\(index)"
        case .room(let index, _), .member(user: _, room: let index): return "\(channel)-room-\(index)"
        }
    }
}
