import Prometheus

/// The samples of the Prometheus registry, read back from its own text exposition, so the admin
/// console shows exactly the counters GET /metrics exports (swift-prometheus has no API to read a
/// value back). Only the sample lines of the text format are read: `name{label="value",…} number`.
struct MetricsSnapshot: Sendable {
    struct Sample: Sendable {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    let samples: [Sample]

    init(registry: PrometheusCollectorRegistry) {
        var text: [UInt8] = []
        registry.emit(into: &text)
        self.init(text: String(decoding: text, as: UTF8.self))
    }

    init(text: String) {
        samples = text.split(separator: "\n").compactMap { Self.sample(from: $0) }
    }

    /// The sum of `name` over the samples whose labels include `labels`.
    func total(_ name: String, where labels: [String: String] = [:]) -> Double {
        samples.lazy.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
            .reduce(0) { $0 + $1.value }
    }

    /// `name`'s samples summed per value of `label`: e.g. events in per ingress.
    func totals(_ name: String, by label: String) -> [(key: String, value: Double)] {
        var sums: [String: Double] = [:]
        for sample in samples where sample.name == name {
            if let key = sample.labels[label] { sums[key, default: 0] += sample.value }
        }
        return sums.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    private static func sample(from line: Substring) -> Sample? {
        guard let first = line.first, first != "#" else { return nil }
        var rest = line[...]
        let name = rest.prefix { $0 != "{" && $0 != " " }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while let next = rest.first, next != "}" {
                if next == "," || next == " " { rest = rest.dropFirst(); continue }
                let key = rest.prefix { $0 != "=" }
                rest = rest.dropFirst(key.count)
                guard rest.hasPrefix("=\"") else { return nil }
                rest = rest.dropFirst(2)
                var value = ""
                while let character = rest.first, character != "\"" {
                    rest = rest.dropFirst()
                    guard character == "\\", let escaped = rest.first else { value.append(character); continue }
                    rest = rest.dropFirst()
                    value.append(escaped == "n" ? "\n" : escaped)
                }
                guard rest.first == "\"" else { return nil }
                rest = rest.dropFirst()
                labels[String(key)] = value
            }
            guard rest.first == "}" else { return nil }
            rest = rest.dropFirst()
        }
        guard let valueText = rest.split(separator: " ").first, let value = Double(valueText) else { return nil }
        return Sample(name: String(name), labels: labels, value: value)
    }
}
