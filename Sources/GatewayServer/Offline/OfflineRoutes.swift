import GatewayAuth
import GatewayCore
import GatewayJSON
import GatewayStore
import NIOCore
import NIOHTTP1
import NIOPosix

/// The HTTP API of offline delivery. Every call acts on the caller's own state only: no endpoint
/// shows one user's address to anyone else (publishers never see addresses).
///
///   GET    /api/v1/me/messengers              {"messengers": {"smtp": "a@b.org"}, "available": [...]}
///   PUT    /api/v1/me/messengers/<alias>      {"address": "..."}  → 200 the new list
///   DELETE /api/v1/me/messengers/<alias>      → 204
///   GET    /api/v1/me/preferences             {"opt_out": {"smtp": ["chat.direct"]}}
///   PUT    /api/v1/me/preferences             {"opt_out": {...}} (replaces) → 200
///   POST   /api/v1/read                       {"id": N} → 204 (event N read by the caller)
///   DELETE /api/v1/events/<id>                → 204 (the publisher cancels a held event)
struct OfflineRoutes: Sendable {
    static let messengersPath = "/api/v1/me/messengers"
    static let preferencesPath = "/api/v1/me/preferences"
    static let readPath = "/api/v1/read"
    static let eventsPrefix = "/api/v1/events/"

    let offline: OfflineDelivery
    let authenticator: Authenticator
    let pool: NIOThreadPool

    /// nil when the path is not one of these routes.
    func handle(_ request: APIRequest, eventLoop: EventLoop) -> EventLoopFuture<HTTPResponse>? {
        let messengersPath = Self.messengersPath, preferencesPath = Self.preferencesPath
        let readPath = Self.readPath, eventsPrefix = Self.eventsPrefix
        let path = request.target.path
        let method = request.head.method
        let isMessengers = path == messengersPath || path.hasPrefix(messengersPath + "/")
        guard isMessengers || path == preferencesPath || path == readPath || path.hasPrefix(eventsPrefix) else { return nil }
        let identity: Identity
        switch authenticator.identify(head: request.head, query: request.target.query) {
        case .success(let value): identity = value
        case .failure(let error): return eventLoop.makeSucceededFuture(.error(error))
        }
        let offline = self.offline
        let aliases = offline.messengerAliases
        // Store calls touch SQLite: off the event loop.
        return pool.runIfActive(eventLoop: eventLoop) { () -> HTTPResponse in
            offline.storeClaims(identity)
            do throws(GatewayError) {
                switch (method, path) {
                case (.GET, messengersPath):
                    return .json(.ok, try Self.messengers(of: identity.id, offline: offline, available: aliases))
                case (.PUT, _) where isMessengers && path != messengersPath:
                    let alias = String(path.dropFirst(messengersPath.count + 1))
                    guard aliases.contains(alias) else { throw Self.unknownMessenger(alias, aliases) }
                    let body = try Self.jsonBody(request)
                    guard let address = body.view["address"].string, !address.isEmpty, address.utf8.count <= 512,
                          !address.contains(where: { $0.isNewline }) else {
                        throw GatewayError(code: "offline.bad_address",
                                           message: "Send {\"address\": \"...\"}: a non-empty string of at most 512 bytes on one line.", status: 400)
                    }
                    try Self.store { () throws(StoreError) in try offline.userState.setAddress(address, principal: identity.id, alias: alias, source: .user) }
                    return .json(.ok, try Self.messengers(of: identity.id, offline: offline, available: aliases))
                case (.DELETE, _) where isMessengers && path != messengersPath:
                    let alias = String(path.dropFirst(messengersPath.count + 1))
                    try Self.store { () throws(StoreError) in try offline.userState.removeAddress(principal: identity.id, alias: alias) }
                    return HTTPResponse(status: .noContent, contentType: "application/json", body: [])
                case (.GET, preferencesPath):
                    return .json(.ok, try Self.preferences(of: identity.id, offline: offline))
                case (.PUT, preferencesPath):
                    let body = try Self.jsonBody(request)
                    let optOut = body.view["opt_out"]
                    guard optOut.isObject else {
                        throw GatewayError(code: "offline.bad_preferences",
                                           message: "Send {\"opt_out\": {\"smtp\": [\"chat.direct\"], \"telegram\": [\"*\"]}}.", status: 400)
                    }
                    var table: [String: [String]] = [:]
                    for (alias, categories) in optOut.members {
                        guard aliases.contains(alias) else { throw Self.unknownMessenger(alias, aliases) }
                        guard let list = categories.strings, list.allSatisfy({ !$0.isEmpty }), list.count <= 1000 else {
                            throw GatewayError(code: "offline.bad_preferences",
                                               message: "opt_out.\(alias) must be an array of categories (\"*\" for all).", status: 400)
                        }
                        table[alias] = list
                    }
                    try Self.store { () throws(StoreError) in try offline.userState.setOptOuts(table, principal: identity.id) }
                    return .json(.ok, try Self.preferences(of: identity.id, offline: offline))
                case (.POST, readPath):
                    let body = try Self.jsonBody(request)
                    guard let id = body.view["id"].int, id > 0 else {
                        throw GatewayError(code: "read.bad_id", message: "Send {\"id\": N} with the id of the event you read.", status: 400)
                    }
                    try offline.storeReadMark(eventId: Int64(id), principal: identity.id)
                    return HTTPResponse(status: .noContent, contentType: "application/json", body: [])
                case (.DELETE, _) where path.hasPrefix(eventsPrefix):
                    guard let id = Int64(path.dropFirst(eventsPrefix.count)), id > 0 else { return .error(.notFound(path)) }
                    try offline.cancel(eventId: id, publisher: identity.id)
                    return HTTPResponse(status: .noContent, contentType: "application/json", body: [])
                default:
                    if path.hasPrefix(eventsPrefix) && Int64(path.dropFirst(eventsPrefix.count)) == nil { return .error(.notFound(path)) }
                    return .error(.methodNotAllowed(method, path))
                }
            } catch {
                return .error(error)
            }
        }
    }

    private static func unknownMessenger(_ alias: String, _ aliases: [String]) -> GatewayError {
        GatewayError(code: "offline.unknown_messenger",
                     message: "'\(alias)' is not a messenger of this gateway (configured: \(aliases.isEmpty ? "none" : aliases.joined(separator: ", "))).",
                     status: 404)
    }

    private static func jsonBody(_ request: APIRequest) throws(GatewayError) -> JSON {
        do {
            let parsed = try JSON.parse(Array(request.body.readableBytesView))
            guard parsed.view.isObject else { throw GatewayError(code: "request.not_object", message: "The body must be a JSON object.", status: 400) }
            return parsed
        } catch let error as GatewayError {
            throw error
        } catch {
            throw GatewayError(code: "request.invalid_json", message: "The body is not valid JSON: \(error)", status: 400)
        }
    }

    private static func store<T>(_ body: () throws(StoreError) -> T) throws(GatewayError) -> T {
        do throws(StoreError) {
            return try body()
        } catch {
            throw GatewayError(code: "offline.store_failed", message: "The offline store failed: \(error.code); see the gateway log.", status: 500)
        }
    }

    private static func messengers(of principal: String, offline: OfflineDelivery, available: [String]) throws(GatewayError) -> JSON {
        let addresses = try Self.store { () throws(StoreError) in try offline.userState.addresses(of: principal) }
        let table = JSON.object()
        for (alias, address) in addresses.sorted(by: { $0.key < $1.key }) { table.set(alias, address) }
        let body = JSON.object()
        body.set("messengers", table)
        body.set("available", .strings(available))
        return body
    }

    private static func preferences(of principal: String, offline: OfflineDelivery) throws(GatewayError) -> JSON {
        let optOuts = try Self.store { () throws(StoreError) in try offline.userState.optOuts(of: principal) }
        let table = JSON.object()
        for (alias, categories) in optOuts.sorted(by: { $0.key < $1.key }) { table.set(alias, .strings(categories)) }
        let body = JSON.object()
        body.set("opt_out", table)
        return body
    }
}
