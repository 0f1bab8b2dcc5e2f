// Rendered by lucid-gen from the model: creates the index once.
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

public class CreateIndex {
  static final String INDEX = "lucid-sessions";
  static final String BODY = "{ \"settings\": { \"number_of_shards\": 1, \"number_of_replicas\": 0 } }";

  public static void main(String[] args) throws Exception {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    URI uri = URI.create("http://127.0.0.1:9200/" + INDEX);
    for (int attempt = 0; attempt < 60; attempt++) {
      try {
        HttpRequest head = HttpRequest.newBuilder(uri).method("HEAD", HttpRequest.BodyPublishers.noBody()).build();
        int status = client.send(head, HttpResponse.BodyHandlers.discarding()).statusCode();
        if (status == 200) { System.out.println("index " + INDEX + " exists"); return; }
        HttpRequest put = HttpRequest.newBuilder(uri)
            .header("Content-Type", "application/json")
            .PUT(HttpRequest.BodyPublishers.ofString(BODY)).build();
        HttpResponse<String> created = client.send(put, HttpResponse.BodyHandlers.ofString());
        if (created.statusCode() == 200) { System.out.println("index " + INDEX + " created"); return; }
        if (created.body().contains("resource_already_exists_exception")) { System.out.println("index " + INDEX + " exists"); return; }
        System.out.println("creating index " + INDEX + ": HTTP " + created.statusCode());
      } catch (java.io.IOException e) {
        // Not answering HTTP yet.
      }
      Thread.sleep(2000);
    }
    System.out.println("Elasticsearch did not answer on port 9200 within 120 s");
    System.exit(1);
  }
}
