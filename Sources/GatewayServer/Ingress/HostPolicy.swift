import GatewayAuth
import GatewayCore

/// Which host a request acts on (where it publishes, whose history it reads, which events a
/// connection receives), and whether the token may use it. Two sources can grant hosts, and a
/// host must pass each one that applies:
///
/// - The token: with `[auth] hosts_claim`, a token carrying that claim may use only the hosts it
///   lists; a request that names no host acts on the first of them.
/// - `[hosts]`: maps each host to the principals whose tokens may use it ("*": any token). The
///   requested host must be listed and granted to one of the token's principals; the default
///   host, when not listed, is open to every token.
///
/// A mismatch is 403 `host.forbidden`. With neither (one site per gateway, the shipped setup)
/// the requested host is used as it is: every event of a single-site deployment carries that one
/// host, so a client naming another host reaches nothing; a gateway shared by several sites must
/// declare `[hosts]` or issue tokens with the hosts claim.
struct HostPolicy: Sendable {
    let defaultHost: String
    let grants: [String: [String]]

    /// The host `identity` acts on (event `host` or `?host=`, else `Origin`, else the token's
    /// first host, else the default host), or 403 `host.forbidden`.
    func resolve(explicit: String?, origin: String?, for identity: Identity) -> Result<String, GatewayError> {
        let host = explicit ?? origin ?? identity.hosts?.first ?? defaultHost
        if let tokenHosts = identity.hosts, !tokenHosts.contains(host) { return .failure(Self.forbidden(host)) }
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
