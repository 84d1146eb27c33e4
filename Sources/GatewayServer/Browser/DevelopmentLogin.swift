import Foundation
import GatewayAuth
import GatewayCore
import GatewayJSON

/// GET/POST /api/v1/dev/login: a token for a typed name, so a newcomer can try the chat page
/// without minting tokens by hand. Only while the gateway runs on its built-in development secret
/// — which is public, so this grants nothing its users could not already do — and refused with
/// `auth.development_login_disabled` as soon as a real secret is configured.
struct DevelopmentLogin: Sendable {
    static let path = "/api/v1/dev/login"
    static let lifetimeSeconds = 12 * 3600

    /// The development secret when it is the one in force; nil otherwise.
    let developmentSecret: [UInt8]?
    let auth: GatewayConfig.Auth

    init(config: GatewayConfig) {
        let secret = try? config.resolvedHS256Secret()
        developmentSecret = secret?.isDevelopmentDefault == true ? secret?.secret : nil
        auth = config.auth
    }

    /// GET: {"enabled": true|false}, so the pages show the form only when it can work.
    func status() -> HTTPResponse {
        let body = JSON.object()
        body.set("enabled", .bool(developmentSecret != nil))
        return .json(.ok, body)
    }

    /// POST {"name": "Alice", "admin": false} → 201 {"token", "sub": "alice", "title": "Alice", "expires_at"}.
    /// The token may publish; with "admin": true it also opens the admin console.
    func login(_ request: APIRequest) -> HTTPResponse {
        guard let secret = developmentSecret else {
            return .error(GatewayError(
                code: "auth.development_login_disabled",
                message: "Development login is off: this gateway has its own secret. Sign in with a token from your identity provider (or `gateway token`).",
                status: 403))
        }
        guard let body = try? JSON.parse(Array(request.body.readableBytesView)), body.view.isObject else {
            return .error(GatewayError(code: "dev_login.bad_request", message: "Send a JSON object: {\"name\": \"alice\"}.", status: 400))
        }
        let title = (body.view["name"].string ?? "").trimmingCharacters(in: .whitespaces)
        guard let subject = Self.subject(for: title) else {
            return .error(GatewayError(
                code: "dev_login.bad_name",
                message: "A name is 1 to 64 letters, digits, spaces or . _ - @ (it becomes the user id, lower-cased).",
                status: 400))
        }
        let now = Int(Date().timeIntervalSince1970)
        let token = TokenMinter.hs256(
            secret: secret, subject: subject, principals: [], title: title, publish: true,
            ttlSeconds: Self.lifetimeSeconds, now: now, principalsClaim: auth.principalsClaim,
            publishClaim: auth.publishClaim, publishScope: auth.publishScope, titleClaim: auth.titleClaim,
            admin: body.view["admin"].bool ?? false, adminClaim: auth.adminClaim, adminScope: auth.adminScope)
        let answer = JSON.object()
        answer.set("token", token)
        answer.set("sub", subject)
        answer.set("title", title)
        answer.set("expires_at", .integer(now + Self.lifetimeSeconds))
        return .json(.created, answer)
    }

    /// "Alice Smith" → "alice-smith"; nil for names that would make a confusing id.
    static func subject(for name: String) -> String? {
        guard (1...64).contains(name.count) else { return nil }
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789._-@")
        let subject = String(name.lowercased().map { $0 == " " ? "-" : $0 })
        return subject.allSatisfy(allowed.contains) ? subject : nil
    }
}
