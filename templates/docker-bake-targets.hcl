{%- for t in targets %}

target {{ t.name }} {
  context    = {{ t.context }}
  dockerfile = {{ t.dockerfile }}
  tags       = [{{ t.tags }}]
  platforms  = [{{ platform }}]
{%- if !t.contexts.is_empty() %}
  contexts = {
{%- for (image, target) in t.contexts %}
    {{ image }} = {{ target }}
{%- endfor %}
  }
{%- endif %}
}
{%- endfor %}
