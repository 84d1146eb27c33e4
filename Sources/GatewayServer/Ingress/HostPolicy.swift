import GatewayAuth
import GatewayCore

/// Which host a request acts on (where it publishes, whose history it reads, which events a
/// connection receives). `[hosts]` maps each host to the principals whose tokens may use it
/// ("*": any token); with it, host is an authorization boundary:
///
/// - With `[hosts]`: the requested host (event `host` or `?host=`, else `Origin`, else the
///   default host) must be listed and granted to one of the token's principals (403
///   `host.forbidden`); the default host, when not listed, is open to every token.
/// - Without `[hosts]` (one site per gateway, the shipped setup): the requested host is used as
///   before. Every event of a single-site deployment carries that one host, so a client naming
///   another host reaches nothing; a gateway shared by several sites must declare `[hosts]`.
struct HostPolicy: Sendable {
    let defaultHost: String
    let grants: [String: [String]]

    /// The host `identity` acts on, or 403 `host.forbidden`.
    func resolve(explicit: String?, origin: String?, for identity: Identity) -> Result<String, GatewayError> {
        let host = explicit ?? origin ?? defaultHost
        guard !grants.isEmpty else { return .success(host) }
        guard let allowed = grants[host] else {
            return host == defaultHost ? .success(host) : .failure(Self.forbidden(host))
        }
        if allowed.contains("*") || identity.principals.contains(where: allowed.contains) { return .success(host) }
        return .failure(Self.forbidden(host))
    }

    static func forbidden(_ host: String) -> GatewayError {
        GatewayError(code: "host.forbidden", message: "This token may not use host '\(host)'.", status: 403)
    }
}
