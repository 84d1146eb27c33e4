import Foundation
import GatewayAuth
import GatewayCore
import GatewayJSON
import GatewayStore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// /api/v1/admin/*: what the admin console shows and does (docs/admin-api.md). Only for tokens
/// whose [auth] admin_claim holds admin_scope; everyone else gets 401 or 403 `admin.forbidden`.
/// Every action is written to the log as an "admin action" line naming the admin.
final class AdminAPI: Sendable {
    static let prefix = "/api/v1/admin/"

    private let authenticator: Authenticator
    private let auth: GatewayConfig.Auth
    private let connections: ConnectionDirectory
    let plugins: PluginSwitch
    let chain: ChainReference
    /// The memory engine's event history; nil when the engine keeps history itself (redis).
    private let history: HistoryStore?
    private let engine: any EventEngine
    private let metrics: GatewayMetrics
    private let pipeline: EventPipeline
    let blockingPool: NIOThreadPool
    let logger: Logger
    private let startedAt = ISOTimestamp.now()

    init(authenticator: Authenticator, auth: GatewayConfig.Auth, fanOut: FanOut, plugins: PluginSwitch,
         chain: ChainReference, history: HistoryStore?, engine: any EventEngine, metrics: GatewayMetrics,
         pipeline: EventPipeline, blockingPool: NIOThreadPool, logger: Logger) {
        self.authenticator = authenticator
        self.auth = auth
        self.connections = ConnectionDirectory(fanOut: fanOut)
        self.plugins = plugins
        self.chain = chain
        self.history = history
        self.engine = engine
        self.metrics = metrics
        self.pipeline = pipeline
        self.blockingPool = blockingPool
        self.logger = logger
    }

    func handle(_ request: APIRequest, eventLoop: EventLoop) -> EventLoopFuture<HTTPResponse> {
        let identity: Identity
        switch authenticator.identify(head: request.head, query: request.target.query) {
        case .failure(let error): return eventLoop.makeSucceededFuture(.error(error))
        case .success(let value): identity = value
        }
        guard identity.isAdmin else {
            return eventLoop.makeSucceededFuture(.error(GatewayError(
                code: "admin.forbidden",
                message: "This token has no admin scope: it needs '\(auth.adminScope)' in its '\(auth.adminClaim)' claim ([auth] admin_claim / admin_scope).",
                status: 403)))
        }
        let path = request.target.path.dropFirst(Self.prefix.count).split(separator: "/", omittingEmptySubsequences: false)
        let method = request.head.method
        switch (method, path.count, path.first) {
        case (.GET, 1, "overview"), (.HEAD, 1, "overview"):
            return overview(for: identity, eventLoop: eventLoop)
        case (.GET, 1, "connections"), (.HEAD, 1, "connections"):
            return connectionPage(request, eventLoop: eventLoop)
        case (.POST, 3, "connections") where path[2] == "disconnect":
            return disconnect(String(path[1]), by: identity, eventLoop: eventLoop)
        case (.GET, 1, "plugins"), (.HEAD, 1, "plugins"):
            return eventLoop.makeSucceededFuture(.json(.ok, pluginList(MetricsSnapshot(registry: metrics.registry))))
        case (.POST, 2, "plugins"):
            return setEnabled(String(path[1]), request, by: identity, eventLoop: eventLoop)
        case (.POST, 1, "events"):
            return testEvent(request, by: identity, eventLoop: eventLoop)
        case (.POST, 3, "messengers") where path[2] == "test":
            return testMessenger(RequestTarget.percentDecode(String(path[1])), request, by: identity, eventLoop: eventLoop)
        case (_, 1, "overview"), (_, 1, "connections"), (_, 1, "plugins"), (_, 1, "events"), (_, 2, "plugins"), (_, 3, "connections"),
             (_, 3, "messengers"):
            return eventLoop.makeSucceededFuture(.error(.methodNotAllowed(method, request.target.path)))
        default:
            return eventLoop.makeSucceededFuture(.error(.notFound(request.target.path)))
        }
    }

    // MARK: Reading

    private func overview(for identity: Identity, eventLoop: EventLoop) -> EventLoopFuture<HTTPResponse> {
        let history = self.history
        let summary = blockingPool.runIfActive(eventLoop: eventLoop) { () throws -> HistoryStore.Summary? in
            try history?.summary()
        }
        return connections.all(on: eventLoop).and(summary).map { connections, summary in
            let snapshot = MetricsSnapshot(registry: self.metrics.registry)
            let body = JSON.object()
            let admin = JSON.object()
            admin.set("id", identity.id)
            body.set("admin", admin)
            body.set("started_at", self.startedAt)
            body.set("connections", Self.connectionCounts(connections))
            body.set("metrics", Self.metricsJSON(snapshot))
            body.set("plugins", self.pluginList(snapshot))
            body.set("history", self.historyJSON(summary))
            let health = self.engine.health
            let engine = JSON.object()
            engine.set("kind", self.engine.kind)
            engine.set("state", health.state.rawValue)
            if let reason = health.reason { engine.set("reason", reason) }
            body.set("engine", engine)
            return .json(.ok, body)
        }
    }

    private static func connectionCounts(_ connections: [ConnectionSummary]) -> JSON {
        var perHost: [String: Int] = [:]
        for connection in connections { perHost[connection.host, default: 0] += 1 }
        let hosts = JSON.array()
        for (host, count) in perHost.sorted(by: { ($1.value, $0.key) < ($0.value, $1.key) }) {
            let entry = JSON.object()
            entry.set("host", host)
            entry.set("count", .integer(count))
            hosts.append(entry)
        }
        let body = JSON.object()
        body.set("total", .integer(connections.count))
        body.set("per_host", hosts)
        return body
    }

    /// Counters as /metrics has them (totals since start); the console turns them into rates.
    private static func metricsJSON(_ snapshot: MetricsSnapshot) -> JSON {
        func grouped(_ name: String, by label: String) -> JSON {
            let object = JSON.object()
            for (key, value) in snapshot.totals(name, by: label) { object.set(key, .integer(Int(value))) }
            return object
        }
        let body = JSON.object()
        body.set("events_in", grouped("gateway_events_in_total", by: "ingress"))
        body.set("events_routed", .integer(Int(snapshot.total("gateway_events_routed_total"))))
        body.set("deliveries", .integer(Int(snapshot.total("gateway_deliveries_total"))))
        body.set("drops", grouped("gateway_drops_total", by: "reason"))
        body.set("slow_consumer_disconnects", .integer(Int(snapshot.total("gateway_slow_consumer_disconnects_total"))))
        let latency = JSON.object()
        let buckets = JSON.array()
        let bounds = snapshot.samples.filter { $0.name == "gateway_delivery_latency_seconds_bucket" }
            .compactMap { sample in sample.labels["le"].map { (le: $0, bound: Double($0) ?? .infinity, count: sample.value) } }
            .sorted { $0.bound < $1.bound }
        for bucket in bounds {
            let pair = JSON.array()
            pair.append(bucket.bound.isFinite ? .number(bucket.bound) : .string("+Inf"))
            pair.append(.integer(Int(bucket.count)))
            buckets.append(pair)
        }
        latency.set("count", .integer(Int(snapshot.total("gateway_delivery_latency_seconds_count"))))
        latency.set("sum_seconds", .number(snapshot.total("gateway_delivery_latency_seconds_sum")))
        latency.set("buckets", buckets)
        body.set("delivery_latency", latency)
        return body
    }

    /// Every [[plugins]] entry in chain order; loaded ones with what their descriptor says.
    private func pluginList(_ snapshot: MetricsSnapshot) -> JSON {
        let loaded = chain.current.plugins
        let list = JSON.array()
        for entry in plugins.entries {
            let item = JSON.object()
            item.set("entry", entry.name)
            item.set("library", entry.library)
            item.set("enabled", .bool(entry.enabled))
            if let info = loaded.first(where: { $0.entryName == entry.name }) {
                item.set("name", info.name)
                item.set("version", info.version)
                item.set("abi", "\(info.abiMajor).\(info.abiMinor)")
                item.set("capabilities", .strings(info.capabilities))
            }
            item.set("calls", .integer(Int(snapshot.total("gateway_plugin_calls_total", where: ["plugin": entry.name]))))
            item.set("errors", .integer(Int(snapshot.total("gateway_plugin_errors_total", where: ["plugin": entry.name]))))
            list.append(item)
        }
        return list
    }

    private func historyJSON(_ summary: HistoryStore.Summary?) -> JSON {
        guard let history, let summary else { return .null() }
        let statistics = history.statistics
        let body = JSON.object()
        body.set("path", history.path)
        body.set("events", .integer(summary.events))
        body.set("deliveries", .integer(summary.deliveries))
        body.set("size_bytes", .integer(Int(summary.sizeBytes)))
        body.set("last_event_id", .integer(Int(history.lastEventId())))
        body.set("dropped", .integer(Int(statistics.dropped)))
        body.set("failed", .integer(Int(statistics.failed)))
        return body
    }

    /// ?offset=0&limit=50 (at most 500), oldest connection first.
    private func connectionPage(_ request: APIRequest, eventLoop: EventLoop) -> EventLoopFuture<HTTPResponse> {
        let query = request.target.query
        guard let offset = Int(query["offset"] ?? "0"), offset >= 0,
              let limit = Int(query["limit"] ?? "50"), (1...500).contains(limit) else {
            return eventLoop.makeSucceededFuture(.error(GatewayError(
                code: "admin.bad_page", message: "'offset' must be 0 or more and 'limit' between 1 and 500.", status: 400)))
        }
        return connections.all(on: eventLoop).map { all in
            let page = JSON.array()
            for connection in all.dropFirst(offset).prefix(limit) { page.append(connection.json) }
            let body = JSON.object()
            body.set("total", .integer(all.count))
            body.set("offset", .integer(offset))
            body.set("limit", .integer(limit))
            body.set("connections", page)
            return .json(.ok, body)
        }
    }

    // MARK: Actions

    func audit(_ action: String, by identity: Identity, _ details: Logger.Metadata = [:]) {
        var metadata = details
        metadata["action"] = .string(action)
        metadata["admin"] = .string(identity.id)
        logger.notice("admin action", metadata: metadata)
    }

    private func disconnect(_ idText: String, by identity: Identity, eventLoop: EventLoop) -> EventLoopFuture<HTTPResponse> {
        guard let id = UInt64(idText) else {
            return eventLoop.makeSucceededFuture(.error(unknownConnection(idText)))
        }
        return connections.disconnect(id, on: eventLoop).map { found in
            guard found else { return .error(self.unknownConnection(idText)) }
            self.audit("connection.disconnect", by: identity, ["connection": "\(id)"])
            let body = JSON.object()
            body.set("disconnected", .integer(Int(id)))
            return .json(.ok, body)
        }
    }

    private func unknownConnection(_ id: String) -> GatewayError {
        GatewayError(code: "admin.unknown_connection", message: "No connection has id '\(id)' (it may have closed already).", status: 404)
    }

    /// POST /api/v1/admin/plugins/<entry> {"enabled": false, "persist": false}
    private func setEnabled(_ entry: String, _ request: APIRequest, by identity: Identity,
                            eventLoop: EventLoop) -> EventLoopFuture<HTTPResponse> {
        let entry = RequestTarget.percentDecode(entry)
        guard let body = try? JSON.parse(Array(request.body.readableBytesView)), let enabled = body.view["enabled"].bool,
              !body.view["persist"].exists || body.view["persist"].bool != nil else {
            return eventLoop.makeSucceededFuture(.error(GatewayError(
                code: "admin.bad_request", message: "Send {\"enabled\": true|false, \"persist\": true|false}.", status: 400)))
        }
        let persist = body.view["persist"].bool ?? false
        let plugins = self.plugins
        return blockingPool.runIfActive(eventLoop: eventLoop) { () -> HTTPResponse in
            do throws(GatewayError) {
                try plugins.setEnabled(entry, enabled, persist: persist)
            } catch {
                self.logger.warning("admin action refused", metadata: [
                    "action": "plugin.\(enabled ? "enable" : "disable")", "admin": "\(identity.id)", "plugin": "\(entry)",
                    "code": "\(error.code)",
                ])
                return .error(error)
            }
            self.audit("plugin.\(enabled ? "enable" : "disable")", by: identity,
                       ["plugin": "\(entry)", "persisted": "\(persist)"])
            let answer = JSON.object()
            answer.set("plugins", self.pluginList(MetricsSnapshot(registry: self.metrics.registry)))
            answer.set("persisted", .bool(persist))
            return .json(.ok, answer)
        }
    }

    /// POST /api/v1/admin/events: any event, routed like a publish, with the admin as its source.
    private func testEvent(_ request: APIRequest, by identity: Identity, eventLoop: EventLoop) -> EventLoopFuture<HTTPResponse> {
        let input: JSON
        do {
            input = try JSON.parse(Array(request.body.readableBytesView))
        } catch {
            return eventLoop.makeSucceededFuture(.error(.invalidEvent("invalid_json", "The body is not valid JSON: \(error)")))
        }
        let publisher = Publisher(id: identity.id, title: identity.title, principals: identity.principals)
        let answer = eventLoop.makePromise(of: HTTPResponse.self)
        pipeline.publish(input, from: publisher, ingress: .http, hostFallback: request.head.headers.first(name: "Origin")) { result in
            switch result {
            case .success(let id):
                self.audit("event.test", by: identity, ["event": "\(id)"])
                let body = JSON.object()
                body.set("id", .integer(Int(id)))
                answer.succeed(.json(.accepted, body))
            case .failure(let error):
                answer.succeed(.error(error))
            }
        }
        return answer.futureResult
    }
}
