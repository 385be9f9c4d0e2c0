{{/* The chart's name. */}}
{{- define "heteroscale.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The full name of the release's objects. */}}
{{- define "heteroscale.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "heteroscale.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "heteroscale.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels that select the controller's pods. */}}
{{- define "heteroscale.selectorLabels" -}}
app.kubernetes.io/name: {{ include "heteroscale.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The service account the controller runs as. */}}
{{- define "heteroscale.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "heteroscale.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The controller image. */}}
{{- define "heteroscale.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
The --scrape-via mode (direct, apiserver or auto); anything else fails the render.
*/}}
{{- define "heteroscale.scrapeVia" -}}
{{- $mode := .Values.scrapeVia | default "direct" -}}
{{- if not (has $mode (list "direct" "apiserver" "auto")) -}}
{{- fail (printf "scrapeVia must be direct, apiserver or auto, not %q" $mode) -}}
{{- end -}}
{{- $mode -}}
{{- end }}
