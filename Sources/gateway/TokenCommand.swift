// `gateway token`: prints an HS256 token signed with the secret the server would use, so a
// developer can connect to a running gateway (e.g. `websocat -H "Authorization: Bearer …"`).
import ArgumentParser
import Foundation
import GatewayAuth
import GatewayCore
import GatewayJSON
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Print a signed HS256 token for a user.",
        discussion: """
            The secret is resolved exactly as the server resolves it: [auth] hs256_secret, else \
            hs256_secret_file (relative to the config file), else hs256_secret_env, else the \
            development secret (with a warning). Claim names come from [auth] too.
            """
    )

    @Option(name: .long, help: "The gateway.conf to read.")
    var config: String = "gateway.conf"

    @Option(name: .long, help: "The user id (the token's 'sub').")
    var sub: String

    @Option(name: .customLong("principal"), help: "An extra principal, e.g. group:staff (repeatable).")
    var principals: [String] = []

    @Flag(name: .long, help: "Allow the user to publish events over HTTP.")
    var publish = false

    @Flag(name: .long, help: "Allow the user into the admin console (/admin) and /api/v1/admin.")
    var admin = false

    @Option(name: .long, help: "Lifetime: 30s, 15m, 1h, 7d, or seconds.")
    var ttl: String = "1h"

    @Option(name: .long, help: "A display name (the [auth] title_claim).")
    var title: String?

    @Option(name: .customLong("claim"), help: "An extra string claim NAME=VALUE, e.g. email=bob@example.org (repeatable).")
    var claims: [String] = []

    @Option(name: .customLong("host"), help: "A host the token may use, e.g. https://a.example (repeatable; needs [auth] hosts_claim).")
    var hosts: [String] = []

    func validate() throws {
        if sub.isEmpty { throw ValidationError("--sub must not be empty") }
        if TokenMinter.parseTTL(ttl) == nil { throw ValidationError("--ttl must look like 30s, 15m, 1h, 7d or a number of seconds") }
        if principals.contains(where: \.isEmpty) { throw ValidationError("--principal must not be empty") }
        if hosts.contains(where: \.isEmpty) { throw ValidationError("--host must not be empty") }
    }

    func run() throws {
        let gatewayConfig: GatewayConfig
        switch ConfigLoader.load(path: config) {
        case .success(let loaded): gatewayConfig = loaded
        case .failure(let errors):
            printError(errors.description)
            throw ExitCode(2)
        }
        let secret: (secret: [UInt8], isDevelopmentDefault: Bool)
        do {
            secret = try gatewayConfig.resolvedHS256Secret()
        } catch {
            printError(error.description)
            throw ExitCode(2)
        }
        if secret.isDevelopmentDefault {
            printError("warning: signing with the development secret; set [auth] hs256_secret_file or hs256_secret_env in production")
        }
        let auth = gatewayConfig.auth
        var extra: [String: String] = [:]
        for claim in claims {
            let parts = claim.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                printError("--claim must be NAME=VALUE, got '\(claim)'")
                throw ExitCode(2)
            }
            extra[parts[0]] = parts[1]
        }
        let claimSet = TokenMinter.standardClaims(
            subject: sub, principals: principals, title: title, publish: publish,
            ttlSeconds: TokenMinter.parseTTL(ttl) ?? 3600, now: Int(time(nil)),
            principalsClaim: auth.principalsClaim, publishClaim: auth.publishClaim, publishScope: auth.publishScope,
            titleClaim: auth.titleClaim, admin: admin, adminClaim: auth.adminClaim, adminScope: auth.adminScope)
        for (name, value) in extra.sorted(by: { $0.key < $1.key }) { claimSet.set(name, value) }
        if !hosts.isEmpty {
            // Without [auth] hosts_claim the server would ignore the hosts: refuse rather than
            // mint a token that looks restricted and is not.
            guard let hostsClaim = auth.hostsClaim else {
                printError("--host needs [auth] hosts_claim in \(config): the server reads a token's hosts from that claim")
                throw ExitCode(2)
            }
            claimSet.set(hostsClaim, .strings(hosts))
        }
        do {
            print(try TokenMinter.sign(claims: claimSet, with: .hs256(secret: secret.secret)))
        } catch {
            printError(error.description)
            throw ExitCode(2)
        }
    }

    private func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
