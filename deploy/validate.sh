#!/usr/bin/env bash
# Checks the deployment files offline, installing nothing:
#
#   - every kustomization under deploy/kubernetes (the base and each overlay)
#     renders, and what it renders, with deploy/kubernetes/secret.example.yaml,
#     is valid against the Kubernetes schemas of each version in
#     K8S_VERSIONS, strictly (an unknown field is an error, and so is a kind
#     with no schema);
#   - deploy/compose.yaml, and the override files in deploy/compose/, are
#     valid against the Compose specification's schema;
#   - the shell scripts beside them parse.
#
# Needs on PATH: kubernetes-validate and check-jsonschema (PyPI; both carry
# their schemas, so nothing is downloaded), and kubectl (for `kubectl
# kustomize`) or a standalone kustomize. Install the first two with:
#
#   python3 -m venv target/deploy-tools
#   target/deploy-tools/bin/pip install kubernetes-validate==1.37.0 check-jsonschema==0.39.0
#   PATH="$PWD/target/deploy-tools/bin:$PATH" deploy/validate.sh
set -euo pipefail
cd "$(dirname "$0")"

K8S_VERSIONS="${K8S_VERSIONS:-1.30.0 1.37.0}"

die() { printf 'error: %s\n' "$*" >&2; exit 1; }
for tool in kubernetes-validate check-jsonschema; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found on PATH (see the top of $0)"
done
if command -v kubectl >/dev/null 2>&1; then
    render() { kubectl kustomize "$1"; }
elif command -v kustomize >/dev/null 2>&1; then
    render() { kustomize build "$1"; }
else
    die "neither kubectl nor kustomize found on PATH: one is needed to render the overlays"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# kubernetes-validate exits 0 on a kind it has no schema for (with a
# warning), so any warning counts as a failure here too.
validate() {
    local version=$1
    shift
    local out
    if ! out=$(kubernetes-validate --strict --quiet -k "$version" "$@" 2>&1) \
        || grep -qE '^(WARN|ERROR)' <<<"$out"; then
        printf '%s\n' "$out" >&2
        return 1
    fi
}

# The validator must refuse a misspelt field and a wrong type; if it does
# not (no schemas, say), its passing the real files proves nothing.
cat >"$work/broken.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
spec:
  replicas: three
  selector:
    matchLabels: {app: broken}
  template:
    metadata:
      labels: {app: broken}
    spec:
      containers:
        - name: broken
          image: broken
          readinesProbe:
            httpGet: {path: /readyz, port: 8080}
YAML
if validate "${K8S_VERSIONS%% *}" "$work/broken.yaml" 2>/dev/null; then
    die "kubernetes-validate accepted a broken Deployment: it is not checking anything"
fi

rendered=()
while IFS= read -r kustomization; do
    dir=$(dirname "$kustomization")
    out="$work/$(tr / _ <<<"$dir").yaml"
    if render "$dir" >"$out"; then
        rendered+=("$out")
        printf 'rendered  %s (%s resources)\n' "$dir" "$(grep -c '^kind:' "$out")"
    else
        printf 'FAILED    %s does not render\n' "$dir" >&2
        failures=$((failures + 1))
    fi
done < <(find kubernetes -name kustomization.yaml | sort)
[ "${#rendered[@]}" -gt 0 ] || die "no kustomization found under deploy/kubernetes"

for version in $K8S_VERSIONS; do
    if validate "$version" "${rendered[@]}" kubernetes/secret.example.yaml; then
        printf 'valid     Kubernetes %s: every rendered kustomization and the example Secrets\n' "$version"
    else
        printf 'FAILED    Kubernetes %s\n' "$version" >&2
        failures=$((failures + 1))
    fi
done

for file in compose.yaml compose/*.yaml; do
    if check-jsonschema --builtin-schema vendor.compose-spec "$file" >"$work/compose.out" 2>&1; then
        printf 'valid     %s against the Compose specification\n' "$file"
    else
        cat "$work/compose.out" >&2
        printf 'FAILED    %s\n' "$file" >&2
        failures=$((failures + 1))
    fi
done

for script in compose/*.sh; do
    if ! sh -n "$script"; then
        printf 'FAILED    %s does not parse\n' "$script" >&2
        failures=$((failures + 1))
    fi
done

[ "$failures" -eq 0 ] || die "$failures check(s) failed"
printf 'deployment files: all checks passed\n'
