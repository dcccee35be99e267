{{/* The registry data generated from the contracts (python -m deploy.generate). */}}
{{- define "komagane.registry" -}}
{{- .Files.Get "generated/registry.json" -}}
{{- end -}}

{{- define "komagane.name" -}}
{{- printf "%s-%s" .root.Release.Name .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "komagane.chartLabels" -}}
app.kubernetes.io/part-of: komagane
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "komagane.commonLabels" -}}
{{ include "komagane.chartLabels" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of one component; call with (dict "root" $ "component" "gateway"). */}}
{{- define "komagane.labels" -}}
{{ include "komagane.chartLabels" .root }}
{{ include "komagane.selectorLabels" . }}
{{- end -}}

{{- define "komagane.selectorLabels" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "komagane.image" -}}
{{- printf "%skomagane/%s:%s" .root.Values.image.registry .component .root.Values.image.tag -}}
{{- end -}}

{{/* Non-root, nothing to escalate to, the runtime's default seccomp profile. */}}
{{- define "komagane.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "komagane.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/* /livez: the process answers; /readyz: its dependencies answer. */}}
{{- define "komagane.probes" -}}
startupProbe:
  httpGet: {path: /livez, port: http}
  periodSeconds: 2
  failureThreshold: 60
livenessProbe:
  httpGet: {path: /livez, port: http}
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet: {path: /readyz, port: http}
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 2
{{- end -}}

{{- define "komagane.secretEnv" -}}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
{{- end -}}

{{/* Kafka over the internal listener, as the principal of the same name (Strimzi's User Operator
keeps its password in a Secret named after the KafkaUser). */}}
{{- define "komagane.kafkaEnv" -}}
- name: KAFKA_BOOTSTRAP_SERVERS
  value: {{ printf "%s-kafka-bootstrap:9092" .root.Values.kafka.clusterName | quote }}
- name: KAFKA_SASL_USERNAME
  value: {{ .principal | quote }}
{{ include "komagane.secretEnv" (dict "env" "KAFKA_SASL_PASSWORD" "secret" .principal "key" "password") }}
{{- end -}}

{{- define "komagane.redisEnv" -}}
{{ include "komagane.secretEnv" (dict "env" "REDIS_URL" "secret" .Values.secrets.redis "key" "url") }}
{{- end -}}

{{/* One component's settings with the pillar defaults under it. */}}
{{- define "komagane.pillar" -}}
{{- $over := get .root.Values.pillars.overrides .name | default dict -}}
{{- $base := pick .root.Values.pillars "replicas" "autoscaling" "resources" -}}
{{- toYaml (mergeOverwrite (deepCopy $base) (deepCopy $over) (deepCopy .spec)) -}}
{{- end -}}

{{/* Writable scratch space under a read-only root. */}}
{{- define "komagane.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end -}}
