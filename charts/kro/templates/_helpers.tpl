{{/* Names, labels and checks shared by the templates. */}}

{{/* The chart name, or nameOverride. */}}
{{- define "kro.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object name: fullnameOverride, else the release name,
followed by the chart name unless the release name already contains it.
*/}}
{{- define "kro.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := include "kro.name" . }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The labels that select the operator's pods. */}}
{{- define "kro.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kro.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The labels of every object. */}}
{{- define "kro.labels" -}}
{{ include "kro.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: kro
{{- if and .Values.helmLabels .Values.metadata.includeManagedBy }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
{{- if and .Values.helmLabels .Values.metadata.includeHelmChart }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- with .Values.additionalLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The ServiceAccount the operator runs as. */}}
{{- define "kro.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "kro.fullname" .) }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image reference: by digest when one is given, else by tag. */}}
{{- define "kro.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
The port of a bind address such as ":8078" or "127.0.0.1:8078", or "" for
"0" (off). Fails on anything else, as the operator would at startup.
Call with (list "value name" address).
*/}}
{{- define "kro.port" -}}
{{- $name := index . 0 }}
{{- $address := toString (index . 1) }}
{{- if ne $address "0" }}
{{- if not (regexMatch "^.*:[0-9]+$" $address) }}
{{- fail (printf "%s must be host:port, :port or 0, got %q" $name $address) }}
{{- end }}
{{- regexFind "[0-9]+$" $address }}
{{- end }}
{{- end }}

{{/*
One quoted `--flag=value` argument from the value at a dotted path under
.Values.config, checked the way the operator parses it, so that a bad value
fails the install instead of leaving a pod that exits at startup.
Call with (list $ "flag-name" "path.under.config" kind), kind being:
- "duration": a Go duration such as 200ms, 3s or 1m30s, or 0;
- "count": a whole number, not negative. Helm reads numbers from values
  files as floats, which print as 1e+06 from a million on, so whole floats
  are printed as integers here;
- "number": any decimal number.
A missing value fails; with a fifth element, true, it renders nothing
instead (flags passed only when their value is set).
*/}}
{{- define "kro.flag" -}}
{{- $root := index . 0 }}
{{- $flag := index . 1 }}
{{- $path := index . 2 }}
{{- $kind := index . 3 }}
{{- $optional := and (gt (len .) 4) (index . 4) }}
{{- $name := printf "config.%s" $path }}
{{- $value := $root.Values.config }}
{{- range splitList "." $path }}
{{- if kindIs "map" $value }}
{{- $value = index $value . }}
{{- else }}
{{- $value = "" }}
{{- end }}
{{- end }}
{{- if or (kindIs "invalid" $value) (eq (toString $value) "") }}
{{- if not $optional }}
{{- fail (printf "%s is missing" $name) }}
{{- end }}
{{- else }}
{{- $text := toString $value }}
{{- if eq $kind "duration" }}
{{- if not (regexMatch "^(0|(([0-9]+[.]?[0-9]*|[.][0-9]+)(ns|us|µs|ms|s|m|h))+)$" $text) }}
{{- fail (printf "%s must be a duration such as 200ms, 3s or 1m30s, got %q" $name $text) }}
{{- end }}
{{- else if eq $kind "count" }}
{{- if kindIs "float64" $value }}
{{- if eq $value (float64 (int64 $value)) }}
{{- $text = toString (int64 $value) }}
{{- end }}
{{- end }}
{{- if not (regexMatch "^[0-9]+$" $text) }}
{{- fail (printf "%s must be a whole number, got %s" $name $text) }}
{{- end }}
{{- else if eq $kind "number" }}
{{- if not (regexMatch "^-?([0-9]+[.]?[0-9]*|[.][0-9]+)(e[+-]?[0-9]+)?$" $text) }}
{{- fail (printf "%s must be a number, got %q" $name $text) }}
{{- end }}
{{- else }}
{{- fail (printf "kro.flag: unknown kind %q" $kind) }}
{{- end }}
{{- printf "--%s=%s" $flag $text | quote }}
{{- end }}
{{- end }}

{{/*
The value of --feature-gates from config.featureGates: a map of gate names
to booleans, rendered sorted by name, or the flag's own `Name=bool,...`
string, passed as it is. Empty when no gate is set.
*/}}
{{- define "kro.featureGates" -}}
{{- $gates := .Values.config.featureGates }}
{{- if kindIs "map" $gates }}
{{- $entries := list }}
{{- range $gate, $on := $gates }}
{{- if not (kindIs "bool" $on) }}
{{- fail (printf "config.featureGates.%s must be true or false, got %v" $gate $on) }}
{{- end }}
{{- $entries = append $entries (printf "%s=%t" $gate $on) }}
{{- end }}
{{- join "," $entries }}
{{- else if kindIs "string" $gates }}
{{- $gates }}
{{- else if not (kindIs "invalid" $gates) }}
{{- fail (printf "config.featureGates must be a map of gate names to true or false, got %v" $gates) }}
{{- end }}
{{- end }}

{{/* The namespace of the leader-election Lease. */}}
{{- define "kro.leaseNamespace" -}}
{{- .Values.config.leaderElectionNamespace | default .Release.Namespace }}
{{- end }}

{{/* Refuses values that cannot work together. */}}
{{- define "kro.checks" -}}
{{- if not (has .Values.rbac.mode (list "unrestricted" "aggregation")) }}
{{- fail (printf "rbac.mode must be unrestricted or aggregation, got %q" .Values.rbac.mode) }}
{{- end }}
{{- if not (has (.Values.config.logFormat | default "") (list "" "text" "json")) }}
{{- fail (printf "config.logFormat must be text or json, got %q" .Values.config.logFormat) }}
{{- end }}
{{- if not (has (lower (.Values.config.logEncoder | default "")) (list "" "console" "json")) }}
{{- fail (printf "config.logEncoder must be console or json, got %q" .Values.config.logEncoder) }}
{{- end }}
{{- if and .Values.config.logFormat .Values.config.logEncoder }}
{{- fail "config.logFormat and config.logEncoder (upstream's name) set the same flag: set one" }}
{{- end }}
{{- if not (has (kindOf .Values.config.development) (list "invalid" "bool")) }}
{{- fail (printf "config.development must be true or false, got %v" .Values.config.development) }}
{{- end }}
{{- if .Values.image.ko }}
{{- fail "image.ko: this operator is not a Go program that ko can build; build its image with the Dockerfile and set image.repository and image.tag" }}
{{- end }}
{{- if and .Values.debug.pprof.enabled .Values.debug.pprof.service.enabled }}
{{- fail "debug.pprof.service.enabled: there is no pprof endpoint to expose here; profile the operator with a sampling profiler such as perf, and watch /metrics" }}
{{- end }}
{{- $metricsPort := include "kro.port" (list "config.metricsBindAddress" .Values.config.metricsBindAddress) }}
{{- with .Values.deployment.containerPort }}
{{- if and $metricsPort (ne (toString .) $metricsPort) }}
{{- fail (printf "deployment.containerPort (%v) must be the port of config.metricsBindAddress (%s): the container's metrics port comes from it" . $metricsPort) }}
{{- end }}
{{- end }}
{{- if and .Values.metrics.service.create (not (include "kro.port" (list "config.metricsBindAddress" .Values.config.metricsBindAddress))) }}
{{- fail "metrics.service.create needs config.metricsBindAddress to be on (not 0)" }}
{{- end }}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.metrics.service.create) }}
{{- fail "metrics.serviceMonitor.enabled needs metrics.service.create" }}
{{- end }}
{{- if and (gt (int .Values.deployment.replicaCount) 1) (not .Values.config.enableLeaderElection) }}
{{- fail "deployment.replicaCount above 1 needs config.enableLeaderElection: replicas would act at once" }}
{{- end }}
{{- end }}
